//! The window actions of docs/PROTOCOL.md §4.1: block/unblock, mute/unmute, star (relayed), delete
//! for me and delete a conversation for me.
//!
//! Owns: checking each action (the lookup rule for a block, membership for the rest,
//! `caps.deleteown` for deletes, the per-user action budget), dropping a pair's cached facts after a
//! block (on this node, and through the cluster on the others) and telling the user's sockets.
//! Must not: write SQL (the store does), or fire Moodle events (the block's worker does).

use super::{refuse, Conversations, Result};
use crate::outbox::Outgoing;
use crate::protocol::{ErrorCode, Flags, ServerFrame, Target};
use crate::services::auth::Caps;
use crate::store::messaging::CONVERSATION_INDIVIDUAL;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A user may take at most [`ACTIONS_PER_WINDOW`] actions per [`ACTION_WINDOW`].
pub const ACTION_WINDOW: Duration = Duration::from_secs(10);
pub const ACTIONS_PER_WINDOW: u32 = 30;

fn frame(f: ServerFrame<'_>) -> Outgoing {
    Outgoing::Frame(Utf8Bytes::from(f.to_json()))
}

impl Conversations {
    /// Counts an action of `me` against their budget.
    fn spend_action(&self, me: i64) -> Result<()> {
        let now = Instant::now();
        let mut slot = self.actions.entry(me).or_insert((now, 0));
        if now.duration_since(slot.0) >= ACTION_WINDOW {
            *slot = (now, 0);
        }
        slot.1 += 1;
        if slot.1 > ACTIONS_PER_WINDOW {
            return refuse(ErrorCode::RateLimited);
        }
        Ok(())
    }

    /// The conversation an action names, for `me`: its id and, in an individual conversation,
    /// the other member. `not_member` for anything that is not `me`'s conversation.
    async fn action_conv(&self, me: i64, target: Target) -> Result<(i64, Option<i64>)> {
        self.store.check_up()?;
        match target {
            Target::User(with) if with == me => refuse(ErrorCode::BadRecipient),
            Target::User(with) => match self.store.conversation(me, with).await? {
                Some(conv) => Ok((conv, Some(with))),
                None => refuse(ErrorCode::NotMember),
            },
            Target::Conv(conv) => {
                let info = self.conversation_info(conv).await?;
                if !info.is_member(me) {
                    return refuse(ErrorCode::NotMember);
                }
                let with = if info.kind == CONVERSATION_INDIVIDUAL {
                    info.members.iter().copied().find(|m| *m != me)
                } else {
                    None
                };
                Ok((conv, with))
            }
        }
    }

    /// Forgets the cached facts of both directions of a pair (a block changed them).
    pub fn forget_pairs(&self, pairs: &[(i64, i64)]) {
        for &(a, b) in pairs {
            self.pairs.remove(&(a, b));
            self.pairs.remove(&(b, a));
        }
    }

    /// `me` blocks or unblocks `user` (`api::block_user` / `unblock_user`).
    pub async fn block(&self, me: i64, caps: &Caps, user: i64, block: bool) -> Result<()> {
        if !self.messaging.load(Ordering::Relaxed) {
            return refuse(ErrorCode::MessagingDisabled);
        }
        if user == me {
            return refuse(ErrorCode::BadRecipient);
        }
        self.spend_action(me)?;
        self.store.check_up()?;
        self.visible_peer(me, caps, user, None).await?;
        let changed = if block {
            self.store.block_user(me, user).await?
        } else {
            self.store.unblock_user(me, user).await?
        };
        self.registry.send_user(
            me,
            &frame(ServerFrame::Block {
                user,
                blocked: block,
            }),
        );
        if changed {
            // Before the hint: the blocked user's next request is judged on the new row, here and
            // (the drop is published ahead of the hint) on the other nodes.
            self.forget_pairs(&[(me, user)]);
            if let Some(peers) = self.registry.peers() {
                peers.pairs_changed(&[(me, user)]);
            }
            self.registry
                .send_user(user, &frame(ServerFrame::CanSend { with: me }));
        }
        Ok(())
    }

    /// `me` mutes or unmutes a conversation (`api::mute_conversation` / `unmute_conversation`).
    pub async fn mute(&self, me: i64, target: Target, mute: bool) -> Result<()> {
        self.spend_action(me)?;
        let (conv, with) = self.action_conv(me, target).await?;
        self.store.set_muted(me, conv, mute).await?;
        self.registry.send_user(
            me,
            &frame(ServerFrame::Mute {
                conv,
                with,
                muted: mute,
            }),
        );
        Ok(())
    }

    /// Relays `me`'s Moodle star of a conversation, as the `favourite` table holds it now (the
    /// client set it through Moodle's web service).
    pub async fn star(&self, me: i64, target: Target) -> Result<()> {
        self.spend_action(me)?;
        let (conv, with) = self.action_conv(me, target).await?;
        let starred = self.store.is_starred(me, conv).await?;
        self.registry.send_user(
            me,
            &frame(ServerFrame::Star {
                conv,
                with,
                starred,
            }),
        );
        Ok(())
    }

    /// Deletes message `id` for `me` (`api::delete_message`).
    pub async fn delete_message(&self, me: i64, caps: &Caps, id: i64) -> Result<()> {
        if !caps.deleteown {
            return refuse(ErrorCode::NoPermission);
        }
        self.spend_action(me)?;
        self.store.check_up()?;
        let Some(conv) = self.store.message_conversation(id).await? else {
            return refuse(ErrorCode::NotMember);
        };
        let (conv, with) = self.action_conv(me, Target::Conv(conv)).await?;
        self.store.delete_messages(me, conv, Some(id), id).await?;
        self.lists.forget(me);
        self.registry.send_user(
            me,
            &frame(ServerFrame::Deleted {
                conv,
                with,
                ids: &[id],
                upto: 0,
            }),
        );
        Ok(())
    }

    /// Deletes every message of a conversation up to its newest for `me`
    /// (`api::delete_conversation_by_id`).
    pub async fn delete_conversation(&self, me: i64, caps: &Caps, target: Target) -> Result<()> {
        if !caps.deleteown {
            return refuse(ErrorCode::NoPermission);
        }
        self.spend_action(me)?;
        let (conv, with) = self.action_conv(me, target).await?;
        let upto = self.store.conv_last_message(conv).await?;
        if upto > 0 {
            self.store.delete_messages(me, conv, None, upto).await?;
        }
        self.lists.forget(me);
        self.registry.send_user(
            me,
            &frame(ServerFrame::Deleted {
                conv,
                with,
                ids: &[],
                upto,
            }),
        );
        Ok(())
    }

    /// The window menu's state of `me`'s conversation `conv` (0: none yet) with `with` (0: a group).
    pub(super) async fn flags(&self, me: i64, conv: i64, with: i64) -> Result<Flags> {
        let (muted, starred) = if conv > 0 {
            self.store.conversation_flags(me, conv).await?
        } else {
            (false, false)
        };
        let blocked = with > 0 && self.store.is_blocked(me, with).await?;
        Ok(Flags {
            conv,
            muted,
            starred,
            blocked,
        })
    }
}
