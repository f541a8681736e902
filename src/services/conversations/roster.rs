//! The People tab's roster (docs/PROTOCOL.md §5 Roster): the user's courses with their group
//! conversations (`roster`), and pages of the people of one course the user may message, teachers
//! marked with Moodle's role names (`course_members`); and the live refresh of the group
//! conversations' members that pushes `members` frames.
//!
//! Owns: the per-course cache of members, course-contact roles and privacy preferences (kept as long
//! as a pair's facts, [`PAIR_TTL`](super::PAIR_TTL) at most), and judging a whole course at once by the
//! same rule as a send (`decide`) from one read each of the viewer's blockers and contacts.
//! Must not: write SQL, or list anyone a `send` would refuse.

use super::{
    decide, effective_pref, refuse, ConvInfo, Conversations, PairFacts, Result, ServiceError,
    CONVERSATION_GROUP,
};
use crate::outbox::Outgoing;
use crate::protocol::{
    CourseMember, ErrorCode, Person, RoleBadge, RosterCourse, RosterGroup, ServerFrame,
    COURSE_MEMBERS_DEFAULT,
};
use crate::services::auth::Caps;
use crate::store::roster::CourseRole;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// One person of a course, as the cache keeps them.
#[derive(Debug)]
struct Entry {
    person: Arc<Person>,
    lastname: String,
    firstname: String,
    role: Option<RoleBadge>,
    /// Their `message_blocknoncontacts` as stored (None: never set).
    pref: Option<String>,
}

/// A course's people, read at `at`.
#[derive(Debug)]
pub(super) struct CourseRoster {
    people: Vec<Entry>,
    at: Instant,
}

impl CourseRoster {
    pub(super) fn fresh(&self, ttl: std::time::Duration) -> bool {
        self.at.elapsed() < ttl
    }
}

/// The course-contact role ids from `$CFG->coursecontact`: a comma-separated list of role ids; never
/// saved (no row): the roles of archetype `editingteacher` (Moodle's default for the setting).
fn contact_roles(setting: Option<&str>, roles: &[CourseRole]) -> HashSet<i64> {
    match setting {
        Some(v) => v
            .split(',')
            .filter_map(|s| s.trim().parse::<i64>().ok())
            .collect(),
        None => roles
            .iter()
            .filter(|r| r.archetype == "editingteacher")
            .map(|r| r.roleid)
            .collect(),
    }
}

/// `role_get_name($role, $coursecontext)` up to the localisation of an empty name: the course's
/// rename, else the role's own name, else empty (the client shows the default of `shortname`).
fn badge(r: &CourseRole) -> RoleBadge {
    let name = if !r.alias.trim().is_empty() {
        r.alias.clone()
    } else {
        r.name.trim().to_string()
    };
    RoleBadge {
        name,
        shortname: r.shortname.clone(),
    }
}

impl Conversations {
    /// The `roster` frame: the user's courses (those presence counts them in), by name, each with
    /// the enabled group conversations of that course the user is a member of.
    pub async fn roster(&self, me: i64) -> Result<String> {
        self.store.check_up()?;
        let courses: Vec<i64> = self
            .registry
            .courses_of(me)
            .map(|c| c.to_vec())
            .unwrap_or_default();
        let names = if courses.is_empty() {
            HashMap::new()
        } else {
            self.store.course_names(&courses).await?
        };
        let mut groups: HashMap<i64, Vec<RosterGroup>> = HashMap::new();
        if !courses.is_empty() {
            for g in self.store.group_conversations_of(me).await? {
                if !courses.contains(&g.courseid) {
                    continue;
                }
                let info = self.conversation_info(g.conv).await?;
                // Membership as the conversation-addressed frames know it (§4).
                if !info.is_member(me) || !info.enabled || info.kind != CONVERSATION_GROUP {
                    continue;
                }
                groups.entry(g.courseid).or_default().push(RosterGroup {
                    conv: g.conv,
                    name: if info.name.is_empty() {
                        g.name.clone()
                    } else {
                        info.name.clone()
                    },
                    image: info.icon.clone(),
                    members: info.members.len(),
                    online: info
                        .members
                        .iter()
                        .filter(|m| **m == me || self.registry.person(**m).is_some())
                        .count(),
                });
            }
        }
        let mut list: Vec<RosterCourse> = courses
            .iter()
            .filter_map(|c| {
                let name = names.get(c)?.clone();
                let mut gs = groups.remove(c).unwrap_or_default();
                gs.sort_by(|a, b| a.name.cmp(&b.name).then(a.conv.cmp(&b.conv)));
                Some(RosterCourse {
                    id: *c,
                    name,
                    groups: gs,
                })
            })
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(ServerFrame::Roster { courses: &list }.to_json())
    }

    /// A course's people with their roles and preferences, from the cache while fresh.
    async fn course_roster(&self, course: i64) -> Result<Arc<CourseRoster>> {
        if let Some(r) = self.rosters.get(&course) {
            if r.fresh(self.pair_ttl) {
                return Ok(r.clone());
            }
        }
        let now = crate::store::now();
        // Three independent reads, on three pool connections at once.
        let (people, roles, setting) = tokio::try_join!(
            self.store.course_people(course, now),
            self.store.course_roles(course),
            self.store.config_value("coursecontact"),
        )?;
        let contacts = contact_roles(setting.as_deref(), &roles);
        // Ordered by role sort order: the first contact role of a user is the one shown.
        let mut role_of: HashMap<i64, RoleBadge> = HashMap::new();
        for r in roles.iter().filter(|r| contacts.contains(&r.roleid)) {
            role_of.entry(r.userid).or_insert_with(|| badge(r));
        }
        let entries = people
            .into_iter()
            .map(|(u, pref)| Entry {
                person: Arc::new(self.avatars.person(&u)),
                role: role_of.remove(&u.id),
                pref,
                lastname: u.lastname,
                firstname: u.firstname,
            })
            .collect();
        let roster = Arc::new(CourseRoster {
            people: entries,
            at: Instant::now(),
        });
        self.rosters.insert(course, roster.clone());
        Ok(roster)
    }

    /// A `course_members` page: the people of `course` that `me` may message (the rule of a send,
    /// decided for the whole course from one read of `me`'s blockers and contacts), teachers first,
    /// then online, then offline. `unknown_course` unless it is one of `me`'s courses.
    pub async fn course_members(
        &self,
        me: i64,
        caps: &Caps,
        course: i64,
        offset: Option<u32>,
        limit: Option<u32>,
    ) -> Result<String> {
        let mine = self
            .registry
            .courses_of(me)
            .is_some_and(|c| c.contains(&course));
        if !mine {
            return refuse(ErrorCode::UnknownCourse);
        }
        self.store.check_up()?;
        let roster = self.course_roster(course).await?;
        let mut listed: Vec<(&Entry, bool)> = Vec::new();
        if self.messaging.load(Ordering::Relaxed) && caps.send {
            let everyone = caps.readall || caps.anyuser || caps.anyusercourses.contains(&course);
            let (blockers, contacts): (HashSet<i64>, HashSet<i64>) = if everyone {
                (HashSet::new(), HashSet::new())
            } else {
                (
                    self.store.blockers_of(me).await?.into_iter().collect(),
                    self.store.contacts_of(me).await?.into_iter().collect(),
                )
            };
            let allusers = self.messagingallusers.load(Ordering::Relaxed);
            for e in &roster.people {
                let id = e.person.id;
                if id == me {
                    continue;
                }
                let ok = everyone || {
                    let f = PairFacts {
                        blocked: blockers.contains(&id),
                        pref: effective_pref(e.pref.as_deref(), allusers),
                        contact: contacts.contains(&id),
                        shared: vec![course],
                        at: Instant::now(),
                    };
                    decide(caps, &f).is_ok()
                };
                // Refused here but messageanyuser in some other course: the pair may share that
                // one too, so the full check of a send decides.
                let ok = ok
                    || (!caps.anyusercourses.is_empty()
                        && match self.authorise(me, caps, id).await {
                            Ok(_) => true,
                            Err(ServiceError::Refused(_)) => false,
                            Err(e) => return Err(e),
                        });
                if ok {
                    listed.push((e, self.registry.person(id).is_some()));
                }
            }
        }
        listed.sort_by(|(a, ao), (b, bo)| {
            a.role
                .is_none()
                .cmp(&b.role.is_none())
                .then(bo.cmp(ao))
                .then_with(|| a.lastname.cmp(&b.lastname))
                .then_with(|| a.firstname.cmp(&b.firstname))
                .then(a.person.id.cmp(&b.person.id))
        });
        let total = listed.len();
        let offset = offset.unwrap_or(0);
        let limit = limit.unwrap_or(COURSE_MEMBERS_DEFAULT) as usize;
        let start = (offset as usize).min(total);
        let end = start.saturating_add(limit).min(total);
        let items = listed[start..end]
            .iter()
            .map(|(e, online)| CourseMember {
                person: &e.person,
                online: *online,
                role: e.role.as_ref(),
            })
            .collect();
        Ok(ServerFrame::CourseMembers {
            course,
            items,
            offset,
            total,
            more: end < total,
        }
        .to_json())
    }

    /// Re-reads the cached group conversations that have a member online on this node and, where
    /// the members changed, pushes `members` to the (new) members' sockets here. Runs every
    /// enrolment refresh, so a group window's member count follows Moodle without a history
    /// refetch; a cached conversation nobody here is online in is left to expire.
    pub async fn refresh_groups(&self) -> Result<()> {
        let watched: Vec<Arc<ConvInfo>> = self
            .conv_infos
            .iter()
            .filter(|c| {
                c.kind == CONVERSATION_GROUP && c.members.iter().any(|m| self.registry.is_here(*m))
            })
            .map(|c| c.value().clone())
            .collect();
        for old in watched {
            self.conv_infos.remove(&old.id);
            let new = self.conversation_info(old.id).await?;
            if new.members == old.members {
                continue;
            }
            let frame = Outgoing::Frame(Utf8Bytes::from(
                ServerFrame::Members {
                    conv: new.id,
                    members: &new.members,
                }
                .to_json(),
            ));
            new.push_local(&self.registry, &frame);
        }
        Ok(())
    }

    /// Drops the course rosters older than a pair's facts.
    pub(super) fn expire_rosters(&self) {
        self.rosters.retain(|_, r| r.fresh(self.pair_ttl));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: i64, short: &str, arch: &str, name: &str, alias: &str) -> CourseRole {
        CourseRole {
            userid: 1,
            roleid: id,
            sortorder: id,
            name: name.into(),
            shortname: short.into(),
            archetype: arch.into(),
            alias: alias.into(),
        }
    }

    #[test]
    fn course_contacts_follow_the_setting() {
        let roles = [
            role(3, "editingteacher", "editingteacher", "", ""),
            role(4, "teacher", "teacher", "", ""),
            role(9, "tutor", "editingteacher", "Tutor", ""),
        ];
        // Never saved: Moodle's default, the editingteacher archetype.
        assert_eq!(contact_roles(None, &roles), HashSet::from([3, 9]));
        assert_eq!(contact_roles(Some("4, 3"), &roles), HashSet::from([3, 4]));
        // Saved empty: nobody.
        assert!(contact_roles(Some(""), &roles).is_empty());
    }

    #[test]
    fn badge_is_the_course_rename_then_the_role_name() {
        assert_eq!(badge(&role(3, "editingteacher", "", "", "")).name, "");
        assert_eq!(
            badge(&role(3, "editingteacher", "", "Lecturer", "")).name,
            "Lecturer"
        );
        let b = badge(&role(3, "editingteacher", "", "Lecturer", "Professora"));
        assert_eq!(
            (b.name.as_str(), b.shortname.as_str()),
            ("Professora", "editingteacher")
        );
    }
}
