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

$string['close'] = 'Close';
$string['closechatwith'] = 'Close chat with {$a}';
$string['connected'] = 'Connected';
$string['connecting'] = 'Connecting…';
$string['connectionlost'] = 'Connection lost. Reconnecting in {$a} s…';
$string['disconnected'] = 'Chat is offline';
$string['dockchat:addinstance'] = 'Add a new dock chat block';
$string['dockchat:myaddinstance'] = 'Add a new dock chat block to Dashboard';
$string['dockchat:use'] = 'Chat with course-mates in docked windows';
$string['dockregion'] = 'Chat windows';
$string['error:blocked'] = 'You cannot message this person.';
$string['error:internal'] = 'The message could not be sent. Retrying…';
$string['error:messaging_disabled'] = 'Messaging is disabled on this site.';
$string['error:no_permission'] = 'You do not have permission to send messages.';
$string['error:not_contactable'] = 'This person only accepts messages from their contacts or course-mates.';
$string['error:rate_limited'] = 'You are sending messages too quickly.';
$string['error:text_too_long'] = 'The message is too long.';
$string['error:unknown'] = 'Something went wrong.';
$string['error:unknown_user'] = 'This person is no longer available.';
$string['loadingolder'] = 'Loading older messages…';
$string['messagelist'] = 'Messages with {$a}';
$string['minimise'] = 'Minimise';
$string['newmessage'] = 'New message';
$string['newmessages'] = '{$a} new messages';
$string['nobodyonline'] = 'None of your course-mates is online right now.';
$string['offline'] = 'Offline';
$string['online'] = 'Online';
$string['onlinecount'] = '{$a} online';
$string['onlinelist'] = 'Online course-mates';
$string['openchatwith'] = 'Chat with {$a}';
$string['pluginname'] = 'Dock chat';
$string['privacy:metadata:block_dockchat_msg'] = 'Chat messages sent with dock chat.';
$string['privacy:metadata:block_dockchat_msg:message'] = 'The text of the message.';
$string['privacy:metadata:block_dockchat_msg:timecreated'] = 'When the message was sent.';
$string['privacy:metadata:block_dockchat_msg:useridfrom'] = 'The user who sent the message.';
$string['privacy:metadata:block_dockchat_read'] = 'Which messages of a conversation the user has read.';
$string['privacy:metadata:block_dockchat_read:lastreadid'] = 'The newest message the user has read.';
$string['privacy:metadata:block_dockchat_read:userid'] = 'The user who read the messages.';
$string['privacy:metadata:block_dockchat_window'] = 'Which chat windows the user has open or minimised.';
$string['privacy:metadata:block_dockchat_window:peerid'] = 'The other user of the chat window.';
$string['privacy:metadata:block_dockchat_window:userid'] = 'The user who has the window open.';
$string['privacy:metadata:dockchatd'] = 'The dock chat service (dockchatd) receives messages from the browser and stores them in this site\'s database.';
$string['privacy:metadata:dockchatd:fullname'] = 'The full name of the user, shown to course-mates.';
$string['privacy:metadata:dockchatd:userid'] = 'The user id, to deliver messages.';
$string['restore'] = 'Restore';
$string['seen'] = 'Seen';
$string['send'] = 'Send';
$string['sending'] = 'Sending…';
$string['today'] = 'Today';
$string['typeamessage'] = 'Write a message…';
$string['typing'] = '{$a} is typing…';
$string['yesterday'] = 'Yesterday';
