-- Moodle-shaped subset of the core schema used by dockchatd, its demo and its tests (SQLite).
-- Translated from the Moodle 5.1 (2025100600.02) MariaDB dump in /work/shared/moodle-schema with the same
-- columns, NOT NULL constraints, defaults and index names. Types map to SQLite affinities the way Moodle's
-- XMLDB does: int of any size -> INTEGER, char(n) -> VARCHAR(n), text -> TEXT, number -> NUMERIC; the
-- `id` column is INTEGER PRIMARY KEY AUTOINCREMENT (Moodle ids are never reused). The prefix is `mdl_`.
-- Each statement ends with `;` at the end of a line; no string literal contains `;`.

CREATE TABLE mdl_user (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  auth VARCHAR(20) NOT NULL DEFAULT 'manual',
  confirmed INTEGER NOT NULL DEFAULT 0,
  policyagreed INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  suspended INTEGER NOT NULL DEFAULT 0,
  mnethostid INTEGER NOT NULL DEFAULT 0,
  username VARCHAR(100) NOT NULL DEFAULT '',
  password VARCHAR(255) NOT NULL DEFAULT '',
  idnumber VARCHAR(255) NOT NULL DEFAULT '',
  firstname VARCHAR(100) NOT NULL DEFAULT '',
  lastname VARCHAR(100) NOT NULL DEFAULT '',
  email VARCHAR(100) NOT NULL DEFAULT '',
  emailstop INTEGER NOT NULL DEFAULT 0,
  phone1 VARCHAR(20) NOT NULL DEFAULT '',
  phone2 VARCHAR(20) NOT NULL DEFAULT '',
  institution VARCHAR(255) NOT NULL DEFAULT '',
  department VARCHAR(255) NOT NULL DEFAULT '',
  address VARCHAR(255) NOT NULL DEFAULT '',
  city VARCHAR(120) NOT NULL DEFAULT '',
  country VARCHAR(2) NOT NULL DEFAULT '',
  lang VARCHAR(30) NOT NULL DEFAULT 'en',
  calendartype VARCHAR(30) NOT NULL DEFAULT 'gregorian',
  theme VARCHAR(50) NOT NULL DEFAULT '',
  timezone VARCHAR(100) NOT NULL DEFAULT '99',
  firstaccess INTEGER NOT NULL DEFAULT 0,
  lastaccess INTEGER NOT NULL DEFAULT 0,
  lastlogin INTEGER NOT NULL DEFAULT 0,
  currentlogin INTEGER NOT NULL DEFAULT 0,
  lastip VARCHAR(45) NOT NULL DEFAULT '',
  secret VARCHAR(15) NOT NULL DEFAULT '',
  picture INTEGER NOT NULL DEFAULT 0,
  description TEXT DEFAULT NULL,
  descriptionformat INTEGER NOT NULL DEFAULT 1,
  mailformat INTEGER NOT NULL DEFAULT 1,
  maildigest INTEGER NOT NULL DEFAULT 0,
  maildisplay INTEGER NOT NULL DEFAULT 2,
  autosubscribe INTEGER NOT NULL DEFAULT 1,
  trackforums INTEGER NOT NULL DEFAULT 0,
  timecreated INTEGER NOT NULL DEFAULT 0,
  timemodified INTEGER NOT NULL DEFAULT 0,
  trustbitmask INTEGER NOT NULL DEFAULT 0,
  imagealt VARCHAR(255) DEFAULT NULL,
  lastnamephonetic VARCHAR(255) DEFAULT NULL,
  firstnamephonetic VARCHAR(255) DEFAULT NULL,
  middlename VARCHAR(255) DEFAULT NULL,
  alternatename VARCHAR(255) DEFAULT NULL,
  moodlenetprofile VARCHAR(255) DEFAULT NULL
);
CREATE UNIQUE INDEX mdl_user_mneuse_uix ON mdl_user (mnethostid,username);
CREATE INDEX mdl_user_del_ix ON mdl_user (deleted);
CREATE INDEX mdl_user_con_ix ON mdl_user (confirmed);
CREATE INDEX mdl_user_fir_ix ON mdl_user (firstname);
CREATE INDEX mdl_user_las_ix ON mdl_user (lastname);
CREATE INDEX mdl_user_cit_ix ON mdl_user (city);
CREATE INDEX mdl_user_cou_ix ON mdl_user (country);
CREATE INDEX mdl_user_las2_ix ON mdl_user (lastaccess);
CREATE INDEX mdl_user_ema_ix ON mdl_user (email);
CREATE INDEX mdl_user_aut_ix ON mdl_user (auth);
CREATE INDEX mdl_user_idn_ix ON mdl_user (idnumber);
CREATE INDEX mdl_user_fir2_ix ON mdl_user (firstnamephonetic);
CREATE INDEX mdl_user_las3_ix ON mdl_user (lastnamephonetic);
CREATE INDEX mdl_user_mid_ix ON mdl_user (middlename);
CREATE INDEX mdl_user_alt_ix ON mdl_user (alternatename);

CREATE TABLE mdl_sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  state INTEGER NOT NULL DEFAULT 0,
  sid VARCHAR(128) NOT NULL DEFAULT '',
  userid INTEGER NOT NULL,
  sessdata TEXT DEFAULT NULL,
  timecreated INTEGER NOT NULL,
  timemodified INTEGER NOT NULL,
  firstip VARCHAR(45) DEFAULT NULL,
  lastip VARCHAR(45) DEFAULT NULL
);
CREATE UNIQUE INDEX mdl_sess_sid_uix ON mdl_sessions (sid);
CREATE INDEX mdl_sess_sta_ix ON mdl_sessions (state);
CREATE INDEX mdl_sess_tim_ix ON mdl_sessions (timecreated);
CREATE INDEX mdl_sess_tim2_ix ON mdl_sessions (timemodified);
CREATE INDEX mdl_sess_use_ix ON mdl_sessions (userid);

CREATE TABLE mdl_config (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(255) NOT NULL DEFAULT '',
  value TEXT NOT NULL
);
CREATE UNIQUE INDEX mdl_conf_nam_uix ON mdl_config (name);

CREATE TABLE mdl_config_plugins (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  plugin VARCHAR(100) NOT NULL DEFAULT 'core',
  name VARCHAR(100) NOT NULL DEFAULT '',
  value TEXT NOT NULL
);
CREATE UNIQUE INDEX mdl_confplug_plunam_uix ON mdl_config_plugins (plugin,name);

CREATE TABLE mdl_user_preferences (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  userid INTEGER NOT NULL DEFAULT 0,
  name VARCHAR(255) NOT NULL DEFAULT '',
  value TEXT NOT NULL
);
CREATE UNIQUE INDEX mdl_userpref_usenam_uix ON mdl_user_preferences (userid,name);
CREATE INDEX mdl_userpref_nam_ix ON mdl_user_preferences (name);

CREATE TABLE mdl_course (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  category INTEGER NOT NULL DEFAULT 0,
  sortorder INTEGER NOT NULL DEFAULT 0,
  fullname VARCHAR(1333) NOT NULL DEFAULT '',
  shortname VARCHAR(255) NOT NULL DEFAULT '',
  idnumber VARCHAR(100) NOT NULL DEFAULT '',
  summary TEXT DEFAULT NULL,
  summaryformat INTEGER NOT NULL DEFAULT 0,
  format VARCHAR(21) NOT NULL DEFAULT 'topics',
  showgrades INTEGER NOT NULL DEFAULT 1,
  newsitems INTEGER NOT NULL DEFAULT 1,
  startdate INTEGER NOT NULL DEFAULT 0,
  enddate INTEGER NOT NULL DEFAULT 0,
  relativedatesmode INTEGER NOT NULL DEFAULT 0,
  marker INTEGER NOT NULL DEFAULT 0,
  maxbytes INTEGER NOT NULL DEFAULT 0,
  legacyfiles INTEGER NOT NULL DEFAULT 0,
  showreports INTEGER NOT NULL DEFAULT 0,
  visible INTEGER NOT NULL DEFAULT 1,
  visibleold INTEGER NOT NULL DEFAULT 1,
  downloadcontent INTEGER DEFAULT NULL,
  groupmode INTEGER NOT NULL DEFAULT 0,
  groupmodeforce INTEGER NOT NULL DEFAULT 0,
  defaultgroupingid INTEGER NOT NULL DEFAULT 0,
  lang VARCHAR(30) NOT NULL DEFAULT '',
  calendartype VARCHAR(30) NOT NULL DEFAULT '',
  theme VARCHAR(50) NOT NULL DEFAULT '',
  timecreated INTEGER NOT NULL DEFAULT 0,
  timemodified INTEGER NOT NULL DEFAULT 0,
  requested INTEGER NOT NULL DEFAULT 0,
  enablecompletion INTEGER NOT NULL DEFAULT 0,
  completionnotify INTEGER NOT NULL DEFAULT 0,
  cacherev INTEGER NOT NULL DEFAULT 0,
  originalcourseid INTEGER DEFAULT NULL,
  showactivitydates INTEGER NOT NULL DEFAULT 0,
  showcompletionconditions INTEGER DEFAULT NULL,
  pdfexportfont VARCHAR(50) DEFAULT NULL,
  enableaitools INTEGER DEFAULT NULL
);
CREATE INDEX mdl_cour_cat_ix ON mdl_course (category);
CREATE INDEX mdl_cour_idn_ix ON mdl_course (idnumber);
CREATE INDEX mdl_cour_sho_ix ON mdl_course (shortname);
CREATE INDEX mdl_cour_sor_ix ON mdl_course (sortorder);
CREATE INDEX mdl_cour_ori_ix ON mdl_course (originalcourseid);

CREATE TABLE mdl_enrol (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  enrol VARCHAR(20) NOT NULL DEFAULT '',
  status INTEGER NOT NULL DEFAULT 0,
  courseid INTEGER NOT NULL,
  sortorder INTEGER NOT NULL DEFAULT 0,
  name VARCHAR(255) DEFAULT NULL,
  enrolperiod INTEGER DEFAULT 0,
  enrolstartdate INTEGER DEFAULT 0,
  enrolenddate INTEGER DEFAULT 0,
  expirynotify INTEGER DEFAULT 0,
  expirythreshold INTEGER DEFAULT 0,
  notifyall INTEGER DEFAULT 0,
  password VARCHAR(50) DEFAULT NULL,
  cost VARCHAR(20) DEFAULT NULL,
  currency VARCHAR(3) DEFAULT NULL,
  roleid INTEGER DEFAULT 0,
  customint1 INTEGER DEFAULT NULL,
  customint2 INTEGER DEFAULT NULL,
  customint3 INTEGER DEFAULT NULL,
  customint4 INTEGER DEFAULT NULL,
  customint5 INTEGER DEFAULT NULL,
  customint6 INTEGER DEFAULT NULL,
  customint7 INTEGER DEFAULT NULL,
  customint8 INTEGER DEFAULT NULL,
  customchar1 VARCHAR(255) DEFAULT NULL,
  customchar2 VARCHAR(255) DEFAULT NULL,
  customchar3 VARCHAR(1333) DEFAULT NULL,
  customdec1 NUMERIC(12,7) DEFAULT NULL,
  customdec2 NUMERIC(12,7) DEFAULT NULL,
  customtext1 TEXT DEFAULT NULL,
  customtext2 TEXT DEFAULT NULL,
  customtext3 TEXT DEFAULT NULL,
  customtext4 TEXT DEFAULT NULL,
  timecreated INTEGER NOT NULL DEFAULT 0,
  timemodified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mdl_enro_enr_ix ON mdl_enrol (enrol);
CREATE INDEX mdl_enro_cou_ix ON mdl_enrol (courseid);
CREATE INDEX mdl_enro_rol_ix ON mdl_enrol (roleid);

CREATE TABLE mdl_user_enrolments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  status INTEGER NOT NULL DEFAULT 0,
  enrolid INTEGER NOT NULL,
  userid INTEGER NOT NULL,
  timestart INTEGER NOT NULL DEFAULT 0,
  timeend INTEGER NOT NULL DEFAULT 2147483647,
  modifierid INTEGER NOT NULL DEFAULT 0,
  timecreated INTEGER NOT NULL DEFAULT 0,
  timemodified INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mdl_userenro_enruse_uix ON mdl_user_enrolments (enrolid,userid);
CREATE INDEX mdl_userenro_enr_ix ON mdl_user_enrolments (enrolid);
CREATE INDEX mdl_userenro_use_ix ON mdl_user_enrolments (userid);
CREATE INDEX mdl_userenro_mod_ix ON mdl_user_enrolments (modifierid);

CREATE TABLE mdl_context (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  contextlevel INTEGER NOT NULL DEFAULT 0,
  instanceid INTEGER NOT NULL DEFAULT 0,
  path VARCHAR(255) DEFAULT NULL,
  depth INTEGER NOT NULL DEFAULT 0,
  locked INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mdl_cont_conins_uix ON mdl_context (contextlevel,instanceid);
CREATE INDEX mdl_cont_ins_ix ON mdl_context (instanceid);
CREATE INDEX mdl_cont_pat_ix ON mdl_context (path);

CREATE TABLE mdl_role (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(255) NOT NULL DEFAULT '',
  shortname VARCHAR(100) NOT NULL DEFAULT '',
  description TEXT NOT NULL,
  sortorder INTEGER NOT NULL DEFAULT 0,
  archetype VARCHAR(30) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX mdl_role_sor_uix ON mdl_role (sortorder);
CREATE UNIQUE INDEX mdl_role_sho_uix ON mdl_role (shortname);

CREATE TABLE mdl_role_assignments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  roleid INTEGER NOT NULL DEFAULT 0,
  contextid INTEGER NOT NULL DEFAULT 0,
  userid INTEGER NOT NULL DEFAULT 0,
  timemodified INTEGER NOT NULL DEFAULT 0,
  modifierid INTEGER NOT NULL DEFAULT 0,
  component VARCHAR(100) NOT NULL DEFAULT '',
  itemid INTEGER NOT NULL DEFAULT 0,
  sortorder INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mdl_roleassi_sor_ix ON mdl_role_assignments (sortorder);
CREATE INDEX mdl_roleassi_rolcon_ix ON mdl_role_assignments (roleid,contextid);
CREATE INDEX mdl_roleassi_useconrol_ix ON mdl_role_assignments (userid,contextid,roleid);
CREATE INDEX mdl_roleassi_comiteuse_ix ON mdl_role_assignments (component,itemid,userid);
CREATE INDEX mdl_roleassi_rol_ix ON mdl_role_assignments (roleid);
CREATE INDEX mdl_roleassi_con_ix ON mdl_role_assignments (contextid);
CREATE INDEX mdl_roleassi_use_ix ON mdl_role_assignments (userid);

CREATE TABLE mdl_message_contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  userid INTEGER NOT NULL,
  contactid INTEGER NOT NULL,
  timecreated INTEGER DEFAULT NULL
);
CREATE UNIQUE INDEX mdl_messcont_usecon_uix ON mdl_message_contacts (userid,contactid);
CREATE INDEX mdl_messcont_use_ix ON mdl_message_contacts (userid);
CREATE INDEX mdl_messcont_con_ix ON mdl_message_contacts (contactid);

CREATE TABLE mdl_message_users_blocked (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  userid INTEGER NOT NULL,
  blockeduserid INTEGER NOT NULL,
  timecreated INTEGER DEFAULT NULL
);
CREATE UNIQUE INDEX mdl_messuserbloc_useblo_uix ON mdl_message_users_blocked (userid,blockeduserid);
CREATE INDEX mdl_messuserbloc_use_ix ON mdl_message_users_blocked (userid);
CREATE INDEX mdl_messuserbloc_blo_ix ON mdl_message_users_blocked (blockeduserid);

CREATE TABLE mdl_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  useridfrom INTEGER NOT NULL,
  conversationid INTEGER NOT NULL,
  subject TEXT DEFAULT NULL,
  fullmessage TEXT DEFAULT NULL,
  fullmessageformat INTEGER NOT NULL DEFAULT 0,
  fullmessagehtml TEXT DEFAULT NULL,
  smallmessage TEXT DEFAULT NULL,
  timecreated INTEGER NOT NULL,
  fullmessagetrust INTEGER NOT NULL DEFAULT 0,
  customdata TEXT DEFAULT NULL
);
CREATE INDEX mdl_mess_contim_ix ON mdl_messages (conversationid,timecreated);
CREATE INDEX mdl_mess_use_ix ON mdl_messages (useridfrom);
CREATE INDEX mdl_mess_con_ix ON mdl_messages (conversationid);

CREATE TABLE mdl_message_conversations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type INTEGER NOT NULL DEFAULT 1,
  name TEXT DEFAULT NULL,
  convhash TEXT DEFAULT NULL,
  component TEXT DEFAULT NULL,
  itemtype TEXT DEFAULT NULL,
  itemid INTEGER DEFAULT NULL,
  contextid INTEGER DEFAULT NULL,
  enabled INTEGER NOT NULL DEFAULT 0,
  timecreated INTEGER NOT NULL,
  timemodified INTEGER DEFAULT NULL
);
CREATE INDEX mdl_messconv_typ_ix ON mdl_message_conversations (type);
CREATE INDEX mdl_messconv_con_ix ON mdl_message_conversations (convhash);
CREATE INDEX mdl_messconv_comiteitecon_ix ON mdl_message_conversations (component,itemtype,itemid,contextid);
CREATE INDEX mdl_messconv_con2_ix ON mdl_message_conversations (contextid);

CREATE TABLE mdl_message_conversation_members (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  conversationid INTEGER NOT NULL,
  userid INTEGER NOT NULL,
  timecreated INTEGER NOT NULL
);
CREATE INDEX mdl_messconvmemb_con_ix ON mdl_message_conversation_members (conversationid);
CREATE INDEX mdl_messconvmemb_use_ix ON mdl_message_conversation_members (userid);

CREATE TABLE mdl_message_conversation_actions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  userid INTEGER NOT NULL,
  conversationid INTEGER NOT NULL,
  action INTEGER NOT NULL,
  timecreated INTEGER NOT NULL
);
CREATE INDEX mdl_messconvacti_use_ix ON mdl_message_conversation_actions (userid);
CREATE INDEX mdl_messconvacti_con_ix ON mdl_message_conversation_actions (conversationid);

CREATE TABLE mdl_message_user_actions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  userid INTEGER NOT NULL,
  messageid INTEGER NOT NULL,
  action INTEGER NOT NULL,
  timecreated INTEGER NOT NULL
);
CREATE UNIQUE INDEX mdl_messuseracti_usemesact_uix ON mdl_message_user_actions (userid,messageid,action);
CREATE INDEX mdl_messuseracti_use_ix ON mdl_message_user_actions (userid);
CREATE INDEX mdl_messuseracti_mes_ix ON mdl_message_user_actions (messageid);

CREATE TABLE mdl_favourite (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  component TEXT NOT NULL DEFAULT '',
  itemtype TEXT NOT NULL DEFAULT '',
  itemid INTEGER NOT NULL,
  contextid INTEGER NOT NULL,
  userid INTEGER NOT NULL,
  ordering INTEGER DEFAULT NULL,
  timecreated INTEGER NOT NULL,
  timemodified INTEGER NOT NULL
);
CREATE UNIQUE INDEX mdl_favo_comiteiteconuse_uix ON mdl_favourite (component,itemtype,itemid,contextid,userid);
CREATE INDEX mdl_favo_con_ix ON mdl_favourite (contextid);
CREATE INDEX mdl_favo_use_ix ON mdl_favourite (userid);

CREATE TABLE mdl_groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  courseid INTEGER NOT NULL,
  idnumber VARCHAR(100) NOT NULL DEFAULT '',
  name VARCHAR(254) NOT NULL DEFAULT '',
  description TEXT DEFAULT NULL,
  descriptionformat INTEGER NOT NULL DEFAULT 0,
  enrolmentkey VARCHAR(50) DEFAULT NULL,
  picture INTEGER NOT NULL DEFAULT 0,
  visibility INTEGER NOT NULL DEFAULT 0,
  participation INTEGER NOT NULL DEFAULT 1,
  timecreated INTEGER NOT NULL DEFAULT 0,
  timemodified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mdl_grou_idn_ix ON mdl_groups (idnumber);
CREATE INDEX mdl_grou_cou_ix ON mdl_groups (courseid);

CREATE TABLE mdl_role_names (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  roleid INTEGER NOT NULL DEFAULT 0,
  contextid INTEGER NOT NULL DEFAULT 0,
  name VARCHAR(255) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX mdl_rolename_rolcon_uix ON mdl_role_names (roleid,contextid);
CREATE INDEX mdl_rolename_rol_ix ON mdl_role_names (roleid);
CREATE INDEX mdl_rolename_con_ix ON mdl_role_names (contextid);
