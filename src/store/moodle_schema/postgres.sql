-- Moodle-shaped subset of the core schema used by dockchatd, its demo and its tests (PostgreSQL).
-- Copied from the Moodle 5.1 (2025100600.02) pg_dump in /work/shared/moodle-schema: tables, comments,
-- id sequences, primary keys and indexes exactly as Moodle creates them, minus the `public.` schema
-- qualifier (so the current search_path decides) and pg_dump's session settings. The prefix is `mdl_`.
-- Each statement ends with `;` at the end of a line; no string literal contains `;`.

CREATE TABLE mdl_config (
    id bigint NOT NULL,
    name character varying(255) DEFAULT ''::character varying NOT NULL,
    value text NOT NULL
);

COMMENT ON TABLE mdl_config IS 'Moodle configuration variables';

CREATE SEQUENCE mdl_config_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_config_id_seq OWNED BY mdl_config.id;

CREATE TABLE mdl_config_plugins (
    id bigint NOT NULL,
    plugin character varying(100) DEFAULT 'core'::character varying NOT NULL,
    name character varying(100) DEFAULT ''::character varying NOT NULL,
    value text NOT NULL
);

COMMENT ON TABLE mdl_config_plugins IS 'Moodle modules and plugins configuration variables';

CREATE SEQUENCE mdl_config_plugins_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_config_plugins_id_seq OWNED BY mdl_config_plugins.id;

CREATE TABLE mdl_context (
    id bigint NOT NULL,
    contextlevel bigint DEFAULT 0 NOT NULL,
    instanceid bigint DEFAULT 0 NOT NULL,
    path character varying(255),
    depth smallint DEFAULT 0 NOT NULL,
    locked smallint DEFAULT 0 NOT NULL
);

COMMENT ON TABLE mdl_context IS 'one of these must be set';

CREATE SEQUENCE mdl_context_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_context_id_seq OWNED BY mdl_context.id;

CREATE TABLE mdl_course (
    id bigint NOT NULL,
    category bigint DEFAULT 0 NOT NULL,
    sortorder bigint DEFAULT 0 NOT NULL,
    fullname character varying(1333) DEFAULT ''::character varying NOT NULL,
    shortname character varying(255) DEFAULT ''::character varying NOT NULL,
    idnumber character varying(100) DEFAULT ''::character varying NOT NULL,
    summary text,
    summaryformat smallint DEFAULT 0 NOT NULL,
    format character varying(21) DEFAULT 'topics'::character varying NOT NULL,
    showgrades smallint DEFAULT 1 NOT NULL,
    newsitems integer DEFAULT 1 NOT NULL,
    startdate bigint DEFAULT 0 NOT NULL,
    enddate bigint DEFAULT 0 NOT NULL,
    relativedatesmode smallint DEFAULT 0 NOT NULL,
    marker bigint DEFAULT 0 NOT NULL,
    maxbytes bigint DEFAULT 0 NOT NULL,
    legacyfiles smallint DEFAULT 0 NOT NULL,
    showreports smallint DEFAULT 0 NOT NULL,
    visible smallint DEFAULT 1 NOT NULL,
    visibleold smallint DEFAULT 1 NOT NULL,
    downloadcontent smallint,
    groupmode smallint DEFAULT 0 NOT NULL,
    groupmodeforce smallint DEFAULT 0 NOT NULL,
    defaultgroupingid bigint DEFAULT 0 NOT NULL,
    lang character varying(30) DEFAULT ''::character varying NOT NULL,
    calendartype character varying(30) DEFAULT ''::character varying NOT NULL,
    theme character varying(50) DEFAULT ''::character varying NOT NULL,
    timecreated bigint DEFAULT 0 NOT NULL,
    timemodified bigint DEFAULT 0 NOT NULL,
    requested smallint DEFAULT 0 NOT NULL,
    enablecompletion smallint DEFAULT 0 NOT NULL,
    completionnotify smallint DEFAULT 0 NOT NULL,
    cacherev bigint DEFAULT 0 NOT NULL,
    originalcourseid bigint,
    showactivitydates smallint DEFAULT 0 NOT NULL,
    showcompletionconditions smallint,
    pdfexportfont character varying(50),
    enableaitools smallint
);

COMMENT ON TABLE mdl_course IS 'Central course table';

CREATE SEQUENCE mdl_course_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_course_id_seq OWNED BY mdl_course.id;

CREATE TABLE mdl_enrol (
    id bigint NOT NULL,
    enrol character varying(20) DEFAULT ''::character varying NOT NULL,
    status bigint DEFAULT 0 NOT NULL,
    courseid bigint NOT NULL,
    sortorder bigint DEFAULT 0 NOT NULL,
    name character varying(255),
    enrolperiod bigint DEFAULT 0,
    enrolstartdate bigint DEFAULT 0,
    enrolenddate bigint DEFAULT 0,
    expirynotify smallint DEFAULT 0,
    expirythreshold bigint DEFAULT 0,
    notifyall smallint DEFAULT 0,
    password character varying(50),
    cost character varying(20),
    currency character varying(3),
    roleid bigint DEFAULT 0,
    customint1 bigint,
    customint2 bigint,
    customint3 bigint,
    customint4 bigint,
    customint5 bigint,
    customint6 bigint,
    customint7 bigint,
    customint8 bigint,
    customchar1 character varying(255),
    customchar2 character varying(255),
    customchar3 character varying(1333),
    customdec1 numeric(12,7),
    customdec2 numeric(12,7),
    customtext1 text,
    customtext2 text,
    customtext3 text,
    customtext4 text,
    timecreated bigint DEFAULT 0 NOT NULL,
    timemodified bigint DEFAULT 0 NOT NULL
);

COMMENT ON TABLE mdl_enrol IS 'Instances of enrolment plugins used in courses, fields marked as custom have a plugin defined meaning, core does not touch them. Create a new linked table if you need even more custom fields.';

CREATE SEQUENCE mdl_enrol_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_enrol_id_seq OWNED BY mdl_enrol.id;

CREATE TABLE mdl_message_contacts (
    id bigint NOT NULL,
    userid bigint NOT NULL,
    contactid bigint NOT NULL,
    timecreated bigint
);

COMMENT ON TABLE mdl_message_contacts IS 'Maintains lists of contacts between users';

CREATE SEQUENCE mdl_message_contacts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_message_contacts_id_seq OWNED BY mdl_message_contacts.id;

CREATE TABLE mdl_message_users_blocked (
    id bigint NOT NULL,
    userid bigint NOT NULL,
    blockeduserid bigint NOT NULL,
    timecreated bigint
);

COMMENT ON TABLE mdl_message_users_blocked IS 'Maintains lists of blocked users';

CREATE SEQUENCE mdl_message_users_blocked_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_message_users_blocked_id_seq OWNED BY mdl_message_users_blocked.id;

CREATE TABLE mdl_role (
    id bigint NOT NULL,
    name character varying(255) DEFAULT ''::character varying NOT NULL,
    shortname character varying(100) DEFAULT ''::character varying NOT NULL,
    description text NOT NULL,
    sortorder bigint DEFAULT 0 NOT NULL,
    archetype character varying(30) DEFAULT ''::character varying NOT NULL
);

COMMENT ON TABLE mdl_role IS 'moodle roles';

CREATE TABLE mdl_role_assignments (
    id bigint NOT NULL,
    roleid bigint DEFAULT 0 NOT NULL,
    contextid bigint DEFAULT 0 NOT NULL,
    userid bigint DEFAULT 0 NOT NULL,
    timemodified bigint DEFAULT 0 NOT NULL,
    modifierid bigint DEFAULT 0 NOT NULL,
    component character varying(100) DEFAULT ''::character varying NOT NULL,
    itemid bigint DEFAULT 0 NOT NULL,
    sortorder bigint DEFAULT 0 NOT NULL
);

COMMENT ON TABLE mdl_role_assignments IS 'assigning roles in different context';

CREATE SEQUENCE mdl_role_assignments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_role_assignments_id_seq OWNED BY mdl_role_assignments.id;

CREATE SEQUENCE mdl_role_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_role_id_seq OWNED BY mdl_role.id;

CREATE TABLE mdl_sessions (
    id bigint NOT NULL,
    state bigint DEFAULT 0 NOT NULL,
    sid character varying(128) DEFAULT ''::character varying NOT NULL,
    userid bigint NOT NULL,
    sessdata text,
    timecreated bigint NOT NULL,
    timemodified bigint NOT NULL,
    firstip character varying(45),
    lastip character varying(45)
);

COMMENT ON TABLE mdl_sessions IS 'Database based session storage - now recommended';

CREATE SEQUENCE mdl_sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_sessions_id_seq OWNED BY mdl_sessions.id;

CREATE TABLE mdl_user (
    id bigint NOT NULL,
    auth character varying(20) DEFAULT 'manual'::character varying NOT NULL,
    confirmed smallint DEFAULT 0 NOT NULL,
    policyagreed smallint DEFAULT 0 NOT NULL,
    deleted smallint DEFAULT 0 NOT NULL,
    suspended smallint DEFAULT 0 NOT NULL,
    mnethostid bigint DEFAULT 0 NOT NULL,
    username character varying(100) DEFAULT ''::character varying NOT NULL,
    password character varying(255) DEFAULT ''::character varying NOT NULL,
    idnumber character varying(255) DEFAULT ''::character varying NOT NULL,
    firstname character varying(100) DEFAULT ''::character varying NOT NULL,
    lastname character varying(100) DEFAULT ''::character varying NOT NULL,
    email character varying(100) DEFAULT ''::character varying NOT NULL,
    emailstop smallint DEFAULT 0 NOT NULL,
    phone1 character varying(20) DEFAULT ''::character varying NOT NULL,
    phone2 character varying(20) DEFAULT ''::character varying NOT NULL,
    institution character varying(255) DEFAULT ''::character varying NOT NULL,
    department character varying(255) DEFAULT ''::character varying NOT NULL,
    address character varying(255) DEFAULT ''::character varying NOT NULL,
    city character varying(120) DEFAULT ''::character varying NOT NULL,
    country character varying(2) DEFAULT ''::character varying NOT NULL,
    lang character varying(30) DEFAULT 'en'::character varying NOT NULL,
    calendartype character varying(30) DEFAULT 'gregorian'::character varying NOT NULL,
    theme character varying(50) DEFAULT ''::character varying NOT NULL,
    timezone character varying(100) DEFAULT '99'::character varying NOT NULL,
    firstaccess bigint DEFAULT 0 NOT NULL,
    lastaccess bigint DEFAULT 0 NOT NULL,
    lastlogin bigint DEFAULT 0 NOT NULL,
    currentlogin bigint DEFAULT 0 NOT NULL,
    lastip character varying(45) DEFAULT ''::character varying NOT NULL,
    secret character varying(15) DEFAULT ''::character varying NOT NULL,
    picture bigint DEFAULT 0 NOT NULL,
    description text,
    descriptionformat smallint DEFAULT 1 NOT NULL,
    mailformat smallint DEFAULT 1 NOT NULL,
    maildigest smallint DEFAULT 0 NOT NULL,
    maildisplay smallint DEFAULT 2 NOT NULL,
    autosubscribe smallint DEFAULT 1 NOT NULL,
    trackforums smallint DEFAULT 0 NOT NULL,
    timecreated bigint DEFAULT 0 NOT NULL,
    timemodified bigint DEFAULT 0 NOT NULL,
    trustbitmask bigint DEFAULT 0 NOT NULL,
    imagealt character varying(255),
    lastnamephonetic character varying(255),
    firstnamephonetic character varying(255),
    middlename character varying(255),
    alternatename character varying(255),
    moodlenetprofile character varying(255)
);

COMMENT ON TABLE mdl_user IS 'One record for each person';

CREATE TABLE mdl_user_enrolments (
    id bigint NOT NULL,
    status bigint DEFAULT 0 NOT NULL,
    enrolid bigint NOT NULL,
    userid bigint NOT NULL,
    timestart bigint DEFAULT 0 NOT NULL,
    timeend bigint DEFAULT 2147483647 NOT NULL,
    modifierid bigint DEFAULT 0 NOT NULL,
    timecreated bigint DEFAULT 0 NOT NULL,
    timemodified bigint DEFAULT 0 NOT NULL
);

COMMENT ON TABLE mdl_user_enrolments IS 'Users participating in courses (aka enrolled users) - everybody who is participating/visible in course, that means both teachers and students';

CREATE SEQUENCE mdl_user_enrolments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_user_enrolments_id_seq OWNED BY mdl_user_enrolments.id;

CREATE SEQUENCE mdl_user_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_user_id_seq OWNED BY mdl_user.id;

CREATE TABLE mdl_user_preferences (
    id bigint NOT NULL,
    userid bigint DEFAULT 0 NOT NULL,
    name character varying(255) DEFAULT ''::character varying NOT NULL,
    value text NOT NULL
);

COMMENT ON TABLE mdl_user_preferences IS 'Allows modules to store arbitrary user preferences';

CREATE SEQUENCE mdl_user_preferences_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_user_preferences_id_seq OWNED BY mdl_user_preferences.id;

ALTER TABLE ONLY mdl_config ALTER COLUMN id SET DEFAULT nextval('mdl_config_id_seq'::regclass);

ALTER TABLE ONLY mdl_config_plugins ALTER COLUMN id SET DEFAULT nextval('mdl_config_plugins_id_seq'::regclass);

ALTER TABLE ONLY mdl_context ALTER COLUMN id SET DEFAULT nextval('mdl_context_id_seq'::regclass);

ALTER TABLE ONLY mdl_course ALTER COLUMN id SET DEFAULT nextval('mdl_course_id_seq'::regclass);

ALTER TABLE ONLY mdl_enrol ALTER COLUMN id SET DEFAULT nextval('mdl_enrol_id_seq'::regclass);

ALTER TABLE ONLY mdl_message_contacts ALTER COLUMN id SET DEFAULT nextval('mdl_message_contacts_id_seq'::regclass);

ALTER TABLE ONLY mdl_message_users_blocked ALTER COLUMN id SET DEFAULT nextval('mdl_message_users_blocked_id_seq'::regclass);

ALTER TABLE ONLY mdl_role ALTER COLUMN id SET DEFAULT nextval('mdl_role_id_seq'::regclass);

ALTER TABLE ONLY mdl_role_assignments ALTER COLUMN id SET DEFAULT nextval('mdl_role_assignments_id_seq'::regclass);

ALTER TABLE ONLY mdl_sessions ALTER COLUMN id SET DEFAULT nextval('mdl_sessions_id_seq'::regclass);

ALTER TABLE ONLY mdl_user ALTER COLUMN id SET DEFAULT nextval('mdl_user_id_seq'::regclass);

ALTER TABLE ONLY mdl_user_enrolments ALTER COLUMN id SET DEFAULT nextval('mdl_user_enrolments_id_seq'::regclass);

ALTER TABLE ONLY mdl_user_preferences ALTER COLUMN id SET DEFAULT nextval('mdl_user_preferences_id_seq'::regclass);

ALTER TABLE ONLY mdl_config
    ADD CONSTRAINT mdl_conf_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_config_plugins
    ADD CONSTRAINT mdl_confplug_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_context
    ADD CONSTRAINT mdl_cont_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_course
    ADD CONSTRAINT mdl_cour_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_enrol
    ADD CONSTRAINT mdl_enro_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_message_contacts
    ADD CONSTRAINT mdl_messcont_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_message_users_blocked
    ADD CONSTRAINT mdl_messuserbloc_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_role
    ADD CONSTRAINT mdl_role_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_role_assignments
    ADD CONSTRAINT mdl_roleassi_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_sessions
    ADD CONSTRAINT mdl_sess_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_user
    ADD CONSTRAINT mdl_user_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_user_enrolments
    ADD CONSTRAINT mdl_userenro_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_user_preferences
    ADD CONSTRAINT mdl_userpref_id_pk PRIMARY KEY (id);

CREATE UNIQUE INDEX mdl_conf_nam_uix ON mdl_config USING btree (name);

CREATE UNIQUE INDEX mdl_confplug_plunam_uix ON mdl_config_plugins USING btree (plugin, name);

CREATE UNIQUE INDEX mdl_cont_conins_uix ON mdl_context USING btree (contextlevel, instanceid);

CREATE INDEX mdl_cont_ins_ix ON mdl_context USING btree (instanceid);

CREATE INDEX mdl_cont_pat_ix ON mdl_context USING btree (path);

CREATE INDEX mdl_cont_pat_ix_pattern ON mdl_context USING btree (path varchar_pattern_ops);

CREATE INDEX mdl_cour_cat_ix ON mdl_course USING btree (category);

CREATE INDEX mdl_cour_idn_ix ON mdl_course USING btree (idnumber);

CREATE INDEX mdl_cour_ori_ix ON mdl_course USING btree (originalcourseid);

CREATE INDEX mdl_cour_sho_ix ON mdl_course USING btree (shortname);

CREATE INDEX mdl_cour_sor_ix ON mdl_course USING btree (sortorder);

CREATE INDEX mdl_enro_cou_ix ON mdl_enrol USING btree (courseid);

CREATE INDEX mdl_enro_enr_ix ON mdl_enrol USING btree (enrol);

CREATE INDEX mdl_enro_rol_ix ON mdl_enrol USING btree (roleid);

CREATE INDEX mdl_messcont_con_ix ON mdl_message_contacts USING btree (contactid);

CREATE INDEX mdl_messcont_use_ix ON mdl_message_contacts USING btree (userid);

CREATE UNIQUE INDEX mdl_messcont_usecon_uix ON mdl_message_contacts USING btree (userid, contactid);

CREATE INDEX mdl_messuserbloc_blo_ix ON mdl_message_users_blocked USING btree (blockeduserid);

CREATE INDEX mdl_messuserbloc_use_ix ON mdl_message_users_blocked USING btree (userid);

CREATE UNIQUE INDEX mdl_messuserbloc_useblo_uix ON mdl_message_users_blocked USING btree (userid, blockeduserid);

CREATE UNIQUE INDEX mdl_role_sho_uix ON mdl_role USING btree (shortname);

CREATE UNIQUE INDEX mdl_role_sor_uix ON mdl_role USING btree (sortorder);

CREATE INDEX mdl_roleassi_comiteuse_ix ON mdl_role_assignments USING btree (component, itemid, userid);

CREATE INDEX mdl_roleassi_con_ix ON mdl_role_assignments USING btree (contextid);

CREATE INDEX mdl_roleassi_rol_ix ON mdl_role_assignments USING btree (roleid);

CREATE INDEX mdl_roleassi_rolcon_ix ON mdl_role_assignments USING btree (roleid, contextid);

CREATE INDEX mdl_roleassi_sor_ix ON mdl_role_assignments USING btree (sortorder);

CREATE INDEX mdl_roleassi_use_ix ON mdl_role_assignments USING btree (userid);

CREATE INDEX mdl_roleassi_useconrol_ix ON mdl_role_assignments USING btree (userid, contextid, roleid);

CREATE UNIQUE INDEX mdl_sess_sid_uix ON mdl_sessions USING btree (sid);

CREATE INDEX mdl_sess_sta_ix ON mdl_sessions USING btree (state);

CREATE INDEX mdl_sess_tim2_ix ON mdl_sessions USING btree (timemodified);

CREATE INDEX mdl_sess_tim_ix ON mdl_sessions USING btree (timecreated);

CREATE INDEX mdl_sess_use_ix ON mdl_sessions USING btree (userid);

CREATE INDEX mdl_user_alt_ix ON mdl_user USING btree (alternatename);

CREATE INDEX mdl_user_aut_ix ON mdl_user USING btree (auth);

CREATE INDEX mdl_user_cit_ix ON mdl_user USING btree (city);

CREATE INDEX mdl_user_con_ix ON mdl_user USING btree (confirmed);

CREATE INDEX mdl_user_cou_ix ON mdl_user USING btree (country);

CREATE INDEX mdl_user_del_ix ON mdl_user USING btree (deleted);

CREATE INDEX mdl_user_ema_ix ON mdl_user USING btree (email);

CREATE INDEX mdl_user_fir2_ix ON mdl_user USING btree (firstnamephonetic);

CREATE INDEX mdl_user_fir_ix ON mdl_user USING btree (firstname);

CREATE INDEX mdl_user_idn_ix ON mdl_user USING btree (idnumber);

CREATE INDEX mdl_user_las2_ix ON mdl_user USING btree (lastaccess);

CREATE INDEX mdl_user_las3_ix ON mdl_user USING btree (lastnamephonetic);

CREATE INDEX mdl_user_las_ix ON mdl_user USING btree (lastname);

CREATE INDEX mdl_user_mid_ix ON mdl_user USING btree (middlename);

CREATE UNIQUE INDEX mdl_user_mneuse_uix ON mdl_user USING btree (mnethostid, username);

CREATE INDEX mdl_userenro_enr_ix ON mdl_user_enrolments USING btree (enrolid);

CREATE UNIQUE INDEX mdl_userenro_enruse_uix ON mdl_user_enrolments USING btree (enrolid, userid);

CREATE INDEX mdl_userenro_mod_ix ON mdl_user_enrolments USING btree (modifierid);

CREATE INDEX mdl_userenro_use_ix ON mdl_user_enrolments USING btree (userid);

CREATE INDEX mdl_userpref_nam_ix ON mdl_user_preferences USING btree (name);

CREATE UNIQUE INDEX mdl_userpref_usenam_uix ON mdl_user_preferences USING btree (userid, name);

CREATE TABLE mdl_message_conversation_actions (
    id bigint NOT NULL,
    userid bigint NOT NULL,
    conversationid bigint NOT NULL,
    action bigint NOT NULL,
    timecreated bigint NOT NULL
);

COMMENT ON TABLE mdl_message_conversation_actions IS 'Stores all per-user actions on individual conversations';

CREATE SEQUENCE mdl_message_conversation_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_message_conversation_actions_id_seq OWNED BY mdl_message_conversation_actions.id;

CREATE TABLE mdl_message_conversation_members (
    id bigint NOT NULL,
    conversationid bigint NOT NULL,
    userid bigint NOT NULL,
    timecreated bigint NOT NULL
);

COMMENT ON TABLE mdl_message_conversation_members IS 'Stores all members in a conversations';

CREATE SEQUENCE mdl_message_conversation_members_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_message_conversation_members_id_seq OWNED BY mdl_message_conversation_members.id;

CREATE TABLE mdl_message_conversations (
    id bigint NOT NULL,
    type bigint DEFAULT 1 NOT NULL,
    name character varying(255),
    convhash character varying(40),
    component character varying(100),
    itemtype character varying(100),
    itemid bigint,
    contextid bigint,
    enabled smallint DEFAULT 0 NOT NULL,
    timecreated bigint NOT NULL,
    timemodified bigint
);

COMMENT ON TABLE mdl_message_conversations IS 'Stores all message conversations';

CREATE SEQUENCE mdl_message_conversations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_message_conversations_id_seq OWNED BY mdl_message_conversations.id;

CREATE TABLE mdl_message_user_actions (
    id bigint NOT NULL,
    userid bigint NOT NULL,
    messageid bigint NOT NULL,
    action bigint NOT NULL,
    timecreated bigint NOT NULL
);

COMMENT ON TABLE mdl_message_user_actions IS 'Stores all per-user actions on individual messages';

CREATE SEQUENCE mdl_message_user_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_message_user_actions_id_seq OWNED BY mdl_message_user_actions.id;

CREATE TABLE mdl_messages (
    id bigint NOT NULL,
    useridfrom bigint NOT NULL,
    conversationid bigint NOT NULL,
    subject text,
    fullmessage text,
    fullmessageformat smallint DEFAULT 0 NOT NULL,
    fullmessagehtml text,
    smallmessage text,
    timecreated bigint NOT NULL,
    fullmessagetrust smallint DEFAULT 0 NOT NULL,
    customdata text
);

COMMENT ON TABLE mdl_messages IS 'Stores all messages';

CREATE SEQUENCE mdl_messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_messages_id_seq OWNED BY mdl_messages.id;

ALTER TABLE ONLY mdl_message_conversation_actions ALTER COLUMN id SET DEFAULT nextval('mdl_message_conversation_actions_id_seq'::regclass);

ALTER TABLE ONLY mdl_message_conversation_members ALTER COLUMN id SET DEFAULT nextval('mdl_message_conversation_members_id_seq'::regclass);

ALTER TABLE ONLY mdl_message_conversations ALTER COLUMN id SET DEFAULT nextval('mdl_message_conversations_id_seq'::regclass);

ALTER TABLE ONLY mdl_message_user_actions ALTER COLUMN id SET DEFAULT nextval('mdl_message_user_actions_id_seq'::regclass);

ALTER TABLE ONLY mdl_messages ALTER COLUMN id SET DEFAULT nextval('mdl_messages_id_seq'::regclass);

ALTER TABLE ONLY mdl_messages
    ADD CONSTRAINT mdl_mess_id3_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_message_conversations
    ADD CONSTRAINT mdl_messconv_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_message_conversation_actions
    ADD CONSTRAINT mdl_messconvacti_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_message_conversation_members
    ADD CONSTRAINT mdl_messconvmemb_id_pk PRIMARY KEY (id);

ALTER TABLE ONLY mdl_message_user_actions
    ADD CONSTRAINT mdl_messuseracti_id_pk PRIMARY KEY (id);

CREATE INDEX mdl_mess_con_ix ON mdl_messages USING btree (conversationid);

CREATE INDEX mdl_mess_contim_ix ON mdl_messages USING btree (conversationid, timecreated);

CREATE INDEX mdl_mess_use_ix ON mdl_messages USING btree (useridfrom);

CREATE INDEX mdl_messconv_comiteitecon_ix ON mdl_message_conversations USING btree (component, itemtype, itemid, contextid);

CREATE INDEX mdl_messconv_con2_ix ON mdl_message_conversations USING btree (contextid);

CREATE INDEX mdl_messconv_con_ix ON mdl_message_conversations USING btree (convhash);

CREATE INDEX mdl_messconv_typ_ix ON mdl_message_conversations USING btree (type);

CREATE INDEX mdl_messconvacti_con_ix ON mdl_message_conversation_actions USING btree (conversationid);

CREATE INDEX mdl_messconvacti_use_ix ON mdl_message_conversation_actions USING btree (userid);

CREATE INDEX mdl_messconvmemb_con_ix ON mdl_message_conversation_members USING btree (conversationid);

CREATE INDEX mdl_messconvmemb_use_ix ON mdl_message_conversation_members USING btree (userid);

CREATE INDEX mdl_messuseracti_mes_ix ON mdl_message_user_actions USING btree (messageid);

CREATE INDEX mdl_messuseracti_use_ix ON mdl_message_user_actions USING btree (userid);

CREATE UNIQUE INDEX mdl_messuseracti_usemesact_uix ON mdl_message_user_actions USING btree (userid, messageid, action);

CREATE TABLE mdl_favourite (
    id bigint NOT NULL,
    component character varying(100) DEFAULT ''::character varying NOT NULL,
    itemtype character varying(100) DEFAULT ''::character varying NOT NULL,
    itemid bigint NOT NULL,
    contextid bigint NOT NULL,
    userid bigint NOT NULL,
    ordering bigint,
    timecreated bigint NOT NULL,
    timemodified bigint NOT NULL
);

COMMENT ON TABLE mdl_favourite IS 'Stores the relationship between an arbitrary item (itemtype, itemid), and a context area (component, contextid) for a specific user. Used by the favourites subsystem.';

CREATE SEQUENCE mdl_favourite_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_favourite_id_seq OWNED BY mdl_favourite.id;

ALTER TABLE ONLY mdl_favourite ALTER COLUMN id SET DEFAULT nextval('mdl_favourite_id_seq'::regclass);

ALTER TABLE ONLY mdl_favourite
    ADD CONSTRAINT mdl_favo_id_pk PRIMARY KEY (id);

CREATE UNIQUE INDEX mdl_favo_comiteiteconuse_uix ON mdl_favourite USING btree (component, itemtype, itemid, contextid, userid);

CREATE INDEX mdl_favo_con_ix ON mdl_favourite USING btree (contextid);

CREATE INDEX mdl_favo_use_ix ON mdl_favourite USING btree (userid);

CREATE TABLE mdl_groups (
    id bigint NOT NULL,
    courseid bigint NOT NULL,
    idnumber character varying(100) DEFAULT ''::character varying NOT NULL,
    name character varying(254) DEFAULT ''::character varying NOT NULL,
    description text,
    descriptionformat smallint DEFAULT 0 NOT NULL,
    enrolmentkey character varying(50),
    picture bigint DEFAULT 0 NOT NULL,
    visibility smallint DEFAULT 0 NOT NULL,
    participation smallint DEFAULT 1 NOT NULL,
    timecreated bigint DEFAULT 0 NOT NULL,
    timemodified bigint DEFAULT 0 NOT NULL
);

COMMENT ON TABLE mdl_groups IS 'Each record represents a group.';

CREATE SEQUENCE mdl_groups_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_groups_id_seq OWNED BY mdl_groups.id;

ALTER TABLE ONLY mdl_groups ALTER COLUMN id SET DEFAULT nextval('mdl_groups_id_seq'::regclass);

ALTER TABLE ONLY mdl_groups
    ADD CONSTRAINT mdl_grou_id_pk PRIMARY KEY (id);

CREATE INDEX mdl_grou_cou_ix ON mdl_groups USING btree (courseid);

CREATE INDEX mdl_grou_idn_ix ON mdl_groups USING btree (idnumber);

CREATE TABLE mdl_role_names (
    id bigint NOT NULL,
    roleid bigint DEFAULT 0 NOT NULL,
    contextid bigint DEFAULT 0 NOT NULL,
    name character varying(255) DEFAULT ''::character varying NOT NULL
);

COMMENT ON TABLE mdl_role_names IS 'role names in native strings';

CREATE SEQUENCE mdl_role_names_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE mdl_role_names_id_seq OWNED BY mdl_role_names.id;

ALTER TABLE ONLY mdl_role_names ALTER COLUMN id SET DEFAULT nextval('mdl_role_names_id_seq'::regclass);

ALTER TABLE ONLY mdl_role_names
    ADD CONSTRAINT mdl_rolename_id_pk PRIMARY KEY (id);

CREATE INDEX mdl_rolename_con_ix ON mdl_role_names USING btree (contextid);

CREATE INDEX mdl_rolename_rol_ix ON mdl_role_names USING btree (roleid);

CREATE UNIQUE INDEX mdl_rolename_rolcon_uix ON mdl_role_names USING btree (roleid, contextid);
