<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

/**
 * English strings for block_dockchat: the one source of every user-facing string of dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['addtofavourites'] = 'Star conversation';
$string['alertdesktop'] = 'Show desktop notifications';
$string['alertsettings'] = 'Alert settings';
$string['alertsound'] = 'Play a sound for new messages';
$string['alerttitlenote'] = 'While this page is in the background, its title shows how many messages are unread (muted conversations are left out, and never alert).';
$string['away'] = 'Away';
$string['backtochats'] = 'Back to chats';
$string['blockuser'] = 'Block user';
$string['blockuserconfirm'] = 'Are you sure you want to block {$a}?';
$string['blockuserconfirmbutton'] = 'Block';
$string['cachedef_caps'] = 'Chat capability answers of each user\'s last token, for the token that comes with the next page';
$string['cancel'] = 'Cancel';
$string['charsleftmany'] = '{$a} characters left';
$string['charsleftone'] = '{$a} character left';
$string['charsovermany'] = '{$a} characters too many';
$string['charsoverone'] = '{$a} character too many';
$string['chatheads'] = 'Minimised conversations';
$string['chats'] = 'Chats';
$string['cli_queue_help'] = 'Dock chat queue: what Moodle\'s send path still has to do for the messages dockchatd stored.

Options:
-s, --status      Backlog per state (new, waiting, claimed, dispatching, done, uncertain, failed), the latest
                  uncertain and failed rows with their errors, the jobs and the workers\' heartbeats.
--requeue=ID      Put the uncertain (5) or failed (6) row ID back in the queue: its notification is sent again.
                  An uncertain row\'s email may already have left: requeue it only if you know it did not.
-h, --help        Print this help.

Example:
$ sudo -u www-data php blocks/dockchat/cli/queue.php --status';
$string['cli_queue_notrequeued'] = 'Row {$a} was not requeued: it does not exist or is neither uncertain (5) nor failed (6).';
$string['cli_queue_noworker'] = 'No worker is running (neither cli/worker.php nor the scheduled task).';
$string['cli_queue_requeued'] = 'Row {$a} is waiting again; a worker will notify it.';
$string['cli_worker_done'] = '{$a} item(s) handled.';
$string['cli_worker_help'] = 'Dock chat queue worker: for every message dockchatd stored, does what Moodle\'s send path does after
its insert (cache, notifications, events). Runs until SIGTERM or SIGINT, or for 10 minutes or 10,000 items;
run it under systemd (deploy/dockchat-worker.service), which starts it again.

Options:
--once            One pass over the queue, then exit.
-v, --verbose     Print what is handled.
-h, --help        Print this help.

Example:
$ sudo -u www-data php blocks/dockchat/cli/worker.php --once --verbose';
$string['cli_worker_upgradepending'] = 'Moodle has an upgrade pending: the dock chat worker waits for it.';
$string['close'] = 'Close';
$string['closechatlist'] = 'Close the chat list';
$string['closechatwith'] = 'Close chat with {$a}';
$string['connected'] = 'Connected';
$string['connecting'] = 'Connecting…';
$string['connectionlost'] = 'Connection lost. Reconnecting in {$a} s…';
$string['conversationactions'] = 'Conversation actions menu';
$string['conversationlist'] = 'Your conversations';
$string['coursegroups'] = 'Groups';
$string['delete'] = 'Delete';
$string['deleteallconfirm'] = 'Are you sure you would like to delete this entire conversation? This will not delete it for other conversation participants.';
$string['deleteconversation'] = 'Delete conversation';
$string['deleteforme'] = 'Delete for me';
$string['desktopallow'] = 'Turn this on again to allow notifications in this browser.';
$string['desktopblocked'] = 'This browser blocks notifications from this site: allow them in its site settings.';
$string['disconnected'] = 'Chat is offline';
$string['dismiss'] = 'Dismiss';
$string['dockchat:addinstance'] = 'Add a new dock chat block';
$string['dockchat:myaddinstance'] = 'Add a new dock chat block to Dashboard';
$string['dockchat:use'] = 'Chat with course-mates in docked windows';
$string['dockregion'] = 'Chat windows';
$string['emptyconversation'] = 'No messages yet. Say hello!';
$string['error:blocked'] = 'You cannot message this person.';
$string['error:contacts_only'] = 'This person only accepts messages from their contacts.';
$string['error:conversation_disabled'] = 'This group conversation is switched off in Moodle.';
$string['error:internal'] = 'The message could not be sent. Retrying…';
$string['error:messaging_disabled'] = 'Messaging is disabled on this site.';
$string['error:no_permission'] = 'You do not have permission to send messages.';
$string['error:not_contactable'] = 'You can message your course-mates and contacts; this person is neither.';
$string['error:not_member'] = 'You are not a member of this group conversation.';
$string['error:rate_limited'] = 'You are sending messages too quickly.';
$string['error:secretmissing'] = 'The dock chat token secret is missing or too short. Ask the site administrator to set it in the dock chat block settings.';
$string['error:text_too_long'] = 'The message is too long.';
$string['error:unknown'] = 'Something went wrong.';
$string['error:unknown_user'] = 'This person is no longer available.';
$string['followeverywhere'] = 'Chat windows on every page';
$string['followeverywhere_desc'] = 'If enabled, the docked chat windows follow users on every page of the site, not only on pages that show the dock chat block.';
$string['lastseendaysmany'] = 'Last seen {$a} days ago';
$string['lastseendaysone'] = 'Last seen {$a} day ago';
$string['lastseenhoursmany'] = 'Last seen {$a} hours ago';
$string['lastseenhoursone'] = 'Last seen {$a} hour ago';
$string['lastseenjustnow'] = 'Last seen just now';
$string['lastseenminutesmany'] = 'Last seen {$a} minutes ago';
$string['lastseenminutesone'] = 'Last seen {$a} minute ago';
$string['launcher'] = 'Chat launcher';
$string['launcher_desc'] = 'Where users who may chat open the chat list on every page, without the block: an icon in the navigation bar with their unread count (beside the messages and notifications), a round button at the bottom right of the page, or none (only pages that show the block have the list). The block stays an optional list in the page.';
$string['launcherfloating'] = 'Round button at the bottom right';
$string['launchernavbar'] = 'Icon in the navigation bar';
$string['launcheroff'] = 'None (the block only)';
$string['listelsewhere'] = 'Your chats are in the other chat block on this page.';
$string['loadingconversations'] = 'Loading conversations…';
$string['loadingolder'] = 'Loading older messages…';
$string['loadingpeople'] = 'Loading people…';
$string['membercountmany'] = '{$a} members';
$string['membercountone'] = '{$a} member';
$string['membersonline'] = '{$a->members}, {$a->online}';
$string['messagelist'] = 'Messages with {$a}';
$string['messagesender'] = '{$a}:';
$string['migrationprogress'] = 'Moving the chat history into Moodle\'s messages: {$a->done} of {$a->total}';
$string['minimise'] = 'Minimise';
$string['moreconversationsmany'] = '{$a} more conversations';
$string['moreconversationsone'] = '{$a} more conversation';
$string['muteconversation'] = 'Mute';
$string['muted'] = 'Muted';
$string['newmessage'] = 'New message';
$string['newmessagefrom'] = 'New message from {$a}';
$string['newmessagein'] = 'New message in {$a}';
$string['newmessagesmany'] = '{$a} new messages';
$string['newmessagesone'] = '{$a} new message';
$string['nobodyfound'] = 'No one found';
$string['nobodyonline'] = 'None of your course-mates is online right now.';
$string['noconversations'] = 'No conversations yet. Find someone to message with the search above.';
$string['nocoursemates'] = 'You are not in a course with others yet. Search for people by name above.';
$string['nopeopleincourse'] = 'Nobody in this course can be messaged.';
$string['notificationin'] = '{$a->name} in {$a->group}';
$string['notifydelay'] = 'Notification delay';
$string['notifydelay_desc'] = 'How long to wait before a dock chat message is notified by email or on mobile. A recipient who reads it in the meantime is not notified; one who does not gets a single notification with every message the sender sent during that time. 0 notifies each message at once, as Moodle does for its own messages.';
$string['offline'] = 'Offline';
$string['offlinereconnecting'] = 'Chat is offline — reconnecting';
$string['online'] = 'Online';
$string['onlinecount'] = '{$a} online';
$string['onlinelist'] = 'Online course-mates';
$string['onlinemembersmany'] = '{$a} online';
$string['onlinemembersone'] = '{$a} online';
$string['openchatwith'] = 'Chat with {$a}';
$string['people'] = 'People';
$string['peoplein'] = 'People in {$a}';
$string['pluginname'] = 'Dock chat';
$string['previewyou'] = 'You:';
$string['privacy:metadata:block_dockchat_job'] = 'Pending work for Moodle about messages read or deleted in the dock (the events Moodle fires for them). Rows are removed once done.';
$string['privacy:metadata:block_dockchat_job:messageid'] = 'The message that was read or deleted.';
$string['privacy:metadata:block_dockchat_job:relateduserid'] = 'The user who sent the message, or the user who was blocked.';
$string['privacy:metadata:block_dockchat_job:timecreated'] = 'When the message was read or deleted.';
$string['privacy:metadata:block_dockchat_job:userid'] = 'The user who read or deleted the message.';
$string['privacy:metadata:block_dockchat_sent'] = 'For each message sent from the dock: the id the sender\'s browser gave it, so that a resent message is stored only once, and whether Moodle has finished delivering it (notifications).';
$string['privacy:metadata:block_dockchat_sent:clientmsgid'] = 'The id the sender\'s browser gave the message.';
$string['privacy:metadata:block_dockchat_sent:conversationid'] = 'The Moodle conversation of the message.';
$string['privacy:metadata:block_dockchat_sent:messageid'] = 'The message in Moodle\'s messages.';
$string['privacy:metadata:block_dockchat_sent:state'] = 'How far Moodle has got with delivering the message (notifications).';
$string['privacy:metadata:block_dockchat_sent:timecreated'] = 'When the message was sent.';
$string['privacy:metadata:block_dockchat_sent:useridfrom'] = 'The user who sent the message.';
$string['privacy:metadata:block_dockchat_window'] = 'Which chat windows the user has open or minimised.';
$string['privacy:metadata:block_dockchat_window:peerid'] = 'The other user of the chat window.';
$string['privacy:metadata:block_dockchat_window:state'] = 'Whether the chat window is open or minimised.';
$string['privacy:metadata:block_dockchat_window:timemodified'] = 'When the chat window was last opened or minimised.';
$string['privacy:metadata:block_dockchat_window:userid'] = 'The user who has the window open.';
$string['privacy:metadata:core_message'] = 'The chat messages, conversations and read states are stored in Moodle\'s messaging system.';
$string['privacy:metadata:dockchatd'] = 'The dock chat service (dockchatd) receives messages from the browser and stores them in this site\'s database.';
$string['privacy:metadata:dockchatd:fullname'] = 'The full name of the user, shown to course-mates.';
$string['privacy:metadata:dockchatd:message'] = 'The messages the user sends and receives.';
$string['privacy:metadata:dockchatd:userid'] = 'The user id, to deliver messages.';
$string['privacy:metadata:preference:block_dockchat_desktop'] = 'Whether a desktop notification shows new chat messages while the page is in the background.';
$string['privacy:metadata:preference:block_dockchat_sound'] = 'Whether a sound plays for new chat messages.';
$string['privacy:path:sent'] = 'Messages sent from the dock';
$string['privacy:path:windows'] = 'Chat windows';
$string['privacy:window:minimised'] = 'Minimised';
$string['privacy:window:open'] = 'Open';
$string['reconnectnow'] = 'Reconnect now';
$string['regeneratesecret'] = 'Regenerate the token secret';
$string['regeneratesecret_confirm'] = 'Generate a new token secret? Tokens signed with the current secret stop working at once. dockchatd reads the new secret from the database by itself within a minute; only if you copied the secret into its configuration (token_secret) must you replace it there.';
$string['removefromfavourites'] = 'Unstar conversation';
$string['restore'] = 'Restore';
$string['retry'] = 'Retry';
$string['role:coursecreator'] = 'Course creator';
$string['role:editingteacher'] = 'Teacher';
$string['role:frontpage'] = 'Authenticated user on site home';
$string['role:guest'] = 'Guest';
$string['role:manager'] = 'Manager';
$string['role:student'] = 'Student';
$string['role:teacher'] = 'Non-editing teacher';
$string['role:user'] = 'Authenticated user';
$string['searching'] = 'Searching…';
$string['searchpeople'] = 'Search people';
$string['searchresults'] = 'People found';
$string['secret'] = 'Token secret';
$string['secret_desc'] = 'The secret that signs the short-lived tokens with which browsers log in to dockchatd. It was generated when the block was installed. dockchatd reads it from this site\'s database by itself; copy it into dockchatd\'s <code>token_secret</code> only if the daemon cannot read the <code>config_plugins</code> table. <a href="{$a}">Regenerate the secret</a>.';
$string['secret_invalid'] = 'The secret must be at least {$a} characters long, without spaces.';
$string['secretregenerated'] = 'A new token secret was generated. Give it to dockchatd if it does not read it from the database.';
$string['seen'] = 'Seen';
$string['seenbymany'] = 'Seen by {$a}';
$string['seenbynames'] = 'Seen by: {$a}';
$string['seenbyone'] = 'Seen by {$a}';
$string['selfinmoodle'] = 'Your personal space opens in Moodle\'s messaging drawer.';
$string['send'] = 'Send';
$string['sending'] = 'Sending…';
$string['sessionended'] = 'Your session has ended. Reload the page to chat again.';
$string['showchatlist'] = 'Show the chat list';
$string['showmore'] = 'More';
$string['starred'] = 'Starred';
$string['task_process_queue'] = 'Dock chat queue (fallback of the worker)';
$string['today'] = 'Today';
$string['tokenlifetime'] = 'Token lifetime';
$string['tokenlifetime_desc'] = 'How long, in seconds, a chat token stays valid (60 to 3600). The chat renews its token before it expires, so changes to a user\'s permissions reach the chat service within this time.';
$string['toolongtosend'] = 'This message is too long to send. Shorten it, or send it in several parts.';
$string['typeamessage'] = 'Write a message…';
$string['typing'] = '{$a} is typing…';
$string['typingothersmany'] = '{$a->name} and {$a->count} others are typing…';
$string['typingothersone'] = '{$a->name} and {$a->count} other are typing…';
$string['unblockuser'] = 'Unblock user';
$string['unmuteconversation'] = 'Unmute';
$string['unreadcountmany'] = '{$a} unread messages';
$string['unreadcountone'] = '{$a} unread message';
$string['wsurl'] = 'Chat service URL';
$string['wsurl_desc'] = 'The public WebSocket address of dockchatd, as browsers reach it (for example wss://moodle.example.edu/dockchat/ws). Leave empty to use {$a}.';
$string['wsurl_invalid'] = 'Enter a WebSocket URL that starts with wss:// (or ws:// for tests), or leave the field empty.';
$string['yesterday'] = 'Yesterday';
$string['you'] = 'You';
$string['youhaveblockeduser'] = 'You have blocked this user.';
