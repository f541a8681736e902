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
 * German strings for block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['addtofavourites'] = 'Unterhaltung markieren';
$string['alertdesktop'] = 'Desktop-Benachrichtigungen anzeigen';
$string['alertsettings'] = 'Hinweiseinstellungen';
$string['alertsound'] = 'Bei neuen Mitteilungen einen Ton abspielen';
$string['alerttitlenote'] = 'Solange diese Seite im Hintergrund ist, zeigt ihr Titel die Zahl der ungelesenen Mitteilungen (stummgeschaltete Unterhaltungen zählen nicht und melden sich nie).';
$string['away'] = 'Abwesend';
$string['backtochats'] = 'Zurück zu den Chats';
$string['blockuser'] = 'Person blockieren';
$string['blockuserconfirm'] = 'Möchten Sie {$a} wirklich blockieren?';
$string['blockuserconfirmbutton'] = 'Blockieren';
$string['cachedef_caps'] = 'Berechtigungsantworten des letzten Chat-Tokens jedes Nutzers, für das Token, das mit der nächsten Seite kommt';
$string['cancel'] = 'Abbrechen';
$string['charsleftmany'] = 'Noch {$a} Zeichen';
$string['charsleftone'] = 'Noch {$a} Zeichen';
$string['charsovermany'] = '{$a} Zeichen zu viel';
$string['charsoverone'] = '{$a} Zeichen zu viel';
$string['chatheads'] = 'Minimierte Unterhaltungen';
$string['chats'] = 'Chats';
$string['cli_queue_help'] = 'Dock-Chat-Warteschlange: was Moodles Sendeweg für die von dockchatd gespeicherten Nachrichten noch zu tun hat.

Optionen:
-s, --status      Rückstand je Zustand (new, waiting, claimed, dispatching, done, uncertain, failed), die letzten
                  unsicheren und fehlgeschlagenen Zeilen mit ihren Fehlern, die Aufträge und die Lebenszeichen der Worker.
--requeue=ID      Die unsichere (5) oder fehlgeschlagene (6) Zeile ID zurück in die Warteschlange stellen: ihre
                  Benachrichtigung wird erneut gesendet. Die E-Mail einer unsicheren Zeile kann schon verschickt sein:
                  nur erneut einreihen, wenn sicher ist, dass sie es nicht wurde.
-h, --help        Diese Hilfe ausgeben.

Beispiel:
$ sudo -u www-data php blocks/dockchat/cli/queue.php --status';
$string['cli_queue_notrequeued'] = 'Zeile {$a} wurde nicht erneut eingereiht: sie existiert nicht oder ist weder unsicher (5) noch fehlgeschlagen (6).';
$string['cli_queue_noworker'] = 'Kein Worker läuft (weder cli/worker.php noch die geplante Aufgabe).';
$string['cli_queue_requeued'] = 'Zeile {$a} wartet wieder; ein Worker benachrichtigt sie.';
$string['cli_worker_done'] = '{$a} Element(e) bearbeitet.';
$string['cli_worker_help'] = 'Dock-Chat-Worker: tut für jede von dockchatd gespeicherte Nachricht, was Moodles Sendeweg nach dem Einfügen
tut (Cache, Benachrichtigungen, Ereignisse). Läuft bis SIGTERM oder SIGINT, oder 10 Minuten bzw. 10.000 Elemente
lang; unter systemd betreiben (deploy/dockchat-worker.service), das ihn neu startet.

Optionen:
--once            Ein Durchlauf über die Warteschlange, dann beenden.
-v, --verbose     Ausgeben, was bearbeitet wird.
-h, --help        Diese Hilfe ausgeben.

Beispiel:
$ sudo -u www-data php blocks/dockchat/cli/worker.php --once --verbose';
$string['cli_worker_upgradepending'] = 'Für Moodle steht eine Aktualisierung aus: der Dock-Chat-Worker wartet darauf.';
$string['close'] = 'Schließen';
$string['closechatlist'] = 'Chatliste schließen';
$string['closechatwith'] = 'Chat mit {$a} schließen';
$string['connected'] = 'Verbunden';
$string['connecting'] = 'Verbindung wird hergestellt…';
$string['connectionlost'] = 'Verbindung unterbrochen. Neuer Versuch in {$a} s…';
$string['conversationactions'] = 'Menü der Unterhaltungsaktionen';
$string['conversationlist'] = 'Ihre Unterhaltungen';
$string['coursegroups'] = 'Gruppen';
$string['delete'] = 'Löschen';
$string['deleteallconfirm'] = 'Möchten Sie diese ganze Unterhaltung wirklich löschen? Für die anderen Teilnehmer/innen wird sie nicht gelöscht.';
$string['deleteconversation'] = 'Unterhaltung löschen';
$string['deleteforme'] = 'Für mich löschen';
$string['desktopallow'] = 'Schalten Sie dies erneut ein, um Benachrichtigungen in diesem Browser zu erlauben.';
$string['desktopblocked'] = 'Dieser Browser blockiert Benachrichtigungen dieser Website: Erlauben Sie sie in den Website-Einstellungen.';
$string['disconnected'] = 'Der Chat ist offline';
$string['dismiss'] = 'Verwerfen';
$string['dockchat:addinstance'] = 'Neuen Dock-Chat-Block hinzufügen';
$string['dockchat:myaddinstance'] = 'Neuen Dock-Chat-Block zum Dashboard hinzufügen';
$string['dockchat:use'] = 'In angedockten Fenstern mit Kursmitgliedern chatten';
$string['dockregion'] = 'Chatfenster';
$string['emptyconversation'] = 'Noch keine Mitteilungen. Sagen Sie Hallo!';
$string['error:blocked'] = 'Sie können dieser Person keine Mitteilungen senden.';
$string['error:contacts_only'] = 'Diese Person nimmt nur Mitteilungen von ihren Kontakten an.';
$string['error:conversation_disabled'] = 'Diese Gruppenunterhaltung ist in Moodle ausgeschaltet.';
$string['error:internal'] = 'Die Mitteilung konnte nicht gesendet werden. Neuer Versuch…';
$string['error:messaging_disabled'] = 'Mitteilungen sind auf dieser Website deaktiviert.';
$string['error:no_permission'] = 'Sie haben keine Berechtigung, Mitteilungen zu senden.';
$string['error:not_contactable'] = 'Sie können Ihren Kursmitgliedern und Kontakten schreiben; diese Person ist beides nicht.';
$string['error:not_member'] = 'Sie sind kein Mitglied dieser Gruppenunterhaltung.';
$string['error:rate_limited'] = 'Sie senden Mitteilungen zu schnell.';
$string['error:secretmissing'] = 'Das Token-Geheimnis von Dock-Chat fehlt oder ist zu kurz. Bitten Sie die Administration der Website, es in den Einstellungen des Dock-Chat-Blocks festzulegen.';
$string['error:text_too_long'] = 'Die Mitteilung ist zu lang.';
$string['error:unknown'] = 'Etwas ist schiefgelaufen.';
$string['error:unknown_user'] = 'Diese Person ist nicht mehr verfügbar.';
$string['followeverywhere'] = 'Chatfenster auf jeder Seite';
$string['followeverywhere_desc'] = 'Wenn aktiviert, begleiten die angedockten Chatfenster die Nutzer/innen auf jeder Seite der Website, nicht nur auf Seiten mit dem Dock-Chat-Block.';
$string['lastseendaysmany'] = 'Zuletzt vor {$a} Tagen gesehen';
$string['lastseendaysone'] = 'Zuletzt vor {$a} Tag gesehen';
$string['lastseenhoursmany'] = 'Zuletzt vor {$a} Stunden gesehen';
$string['lastseenhoursone'] = 'Zuletzt vor {$a} Stunde gesehen';
$string['lastseenjustnow'] = 'Gerade eben zuletzt gesehen';
$string['lastseenminutesmany'] = 'Zuletzt vor {$a} Minuten gesehen';
$string['lastseenminutesone'] = 'Zuletzt vor {$a} Minute gesehen';
$string['launcher'] = 'Chat-Starter';
$string['launcher_desc'] = 'Wo Nutzer/innen, die chatten dürfen, die Chatliste auf jeder Seite ohne den Block öffnen: ein Symbol in der Navigationsleiste mit ihren ungelesenen Nachrichten (neben Mitteilungen und Benachrichtigungen), eine runde Schaltfläche unten rechts auf der Seite oder keiner (nur Seiten mit dem Block haben die Liste). Der Block bleibt eine optionale Liste auf der Seite.';
$string['launcherfloating'] = 'Runde Schaltfläche unten rechts';
$string['launchernavbar'] = 'Symbol in der Navigationsleiste';
$string['launcheroff'] = 'Keiner (nur der Block)';
$string['listelsewhere'] = 'Ihre Chats sind im anderen Chat-Block dieser Seite.';
$string['loadingconversations'] = 'Unterhaltungen werden geladen…';
$string['loadingolder'] = 'Ältere Mitteilungen werden geladen…';
$string['loadingpeople'] = 'Personen werden geladen…';
$string['membercountmany'] = '{$a} Mitglieder';
$string['membercountone'] = '{$a} Mitglied';
$string['membersonline'] = '{$a->members}, {$a->online}';
$string['messagelist'] = 'Mitteilungen mit {$a}';
$string['messagesender'] = '{$a}:';
$string['migrationprogress'] = 'Chatverlauf wird in die Mitteilungen von Moodle übertragen: {$a->done} von {$a->total}';
$string['minimise'] = 'Minimieren';
$string['moreconversationsmany'] = '{$a} weitere Unterhaltungen';
$string['moreconversationsone'] = '{$a} weitere Unterhaltung';
$string['muteconversation'] = 'Stummschalten';
$string['muted'] = 'Stummgeschaltet';
$string['newmessage'] = 'Neue Mitteilung';
$string['newmessagefrom'] = 'Neue Mitteilung von {$a}';
$string['newmessagein'] = 'Neue Mitteilung in {$a}';
$string['newmessagesmany'] = '{$a} neue Mitteilungen';
$string['newmessagesone'] = '{$a} neue Mitteilung';
$string['nobodyfound'] = 'Niemand gefunden';
$string['nobodyonline'] = 'Gerade ist keines Ihrer Kursmitglieder online.';
$string['noconversations'] = 'Noch keine Unterhaltungen. Suchen Sie oben nach jemandem, dem Sie schreiben möchten.';
$string['nocoursemates'] = 'Sie sind noch in keinem Kurs mit anderen. Suchen Sie oben nach Namen.';
$string['nopeopleincourse'] = 'In diesem Kurs kann niemand eine Mitteilung erhalten.';
$string['notificationin'] = '{$a->name} in {$a->group}';
$string['notifydelay'] = 'Benachrichtigungsverzögerung';
$string['notifydelay_desc'] = 'Wie lange gewartet wird, bevor eine Dock-Chat-Nachricht per E-Mail oder mobil gemeldet wird. Wer sie in der Zwischenzeit liest, wird nicht benachrichtigt; wer nicht, erhält eine einzige Benachrichtigung mit allen Nachrichten, die der Absender in dieser Zeit geschickt hat. 0 meldet jede Nachricht sofort, wie Moodle es für seine eigenen Nachrichten tut.';
$string['offline'] = 'Offline';
$string['offlinereconnecting'] = 'Der Chat ist offline — Verbindung wird wiederhergestellt';
$string['online'] = 'Online';
$string['onlinecount'] = '{$a} online';
$string['onlinelist'] = 'Kursmitglieder online';
$string['onlinemembersmany'] = '{$a} online';
$string['onlinemembersone'] = '{$a} online';
$string['openchatwith'] = 'Mit {$a} chatten';
$string['people'] = 'Personen';
$string['peoplein'] = 'Personen in {$a}';
$string['pluginname'] = 'Dock-Chat';
$string['previewyou'] = 'Sie:';
$string['privacy:metadata:block_dockchat_job'] = 'Ausstehende Aufgaben für Moodle zu im Dock gelesenen oder gelöschten Mitteilungen (die Ereignisse, die Moodle dafür auslöst). Erledigte Einträge werden entfernt.';
$string['privacy:metadata:block_dockchat_job:messageid'] = 'Die Mitteilung, die gelesen oder gelöscht wurde.';
$string['privacy:metadata:block_dockchat_job:relateduserid'] = 'Die Person, die die Mitteilung gesendet hat, oder die blockierte Person.';
$string['privacy:metadata:block_dockchat_job:timecreated'] = 'Wann die Mitteilung gelesen oder gelöscht wurde.';
$string['privacy:metadata:block_dockchat_job:userid'] = 'Die Person, die die Mitteilung gelesen oder gelöscht hat.';
$string['privacy:metadata:block_dockchat_sent'] = 'Für jede aus dem Dock gesendete Mitteilung: die ID, die der Browser der sendenden Person ihr gab, damit eine erneut gesendete Mitteilung nur einmal gespeichert wird, und ob Moodle sie fertig zugestellt hat (Benachrichtigungen).';
$string['privacy:metadata:block_dockchat_sent:clientmsgid'] = 'Die ID, die der Browser der sendenden Person der Mitteilung gab.';
$string['privacy:metadata:block_dockchat_sent:conversationid'] = 'Die Moodle-Unterhaltung der Mitteilung.';
$string['privacy:metadata:block_dockchat_sent:messageid'] = 'Die Mitteilung in den Mitteilungen von Moodle.';
$string['privacy:metadata:block_dockchat_sent:state'] = 'Wie weit Moodle mit der Zustellung der Mitteilung ist (Benachrichtigungen).';
$string['privacy:metadata:block_dockchat_sent:timecreated'] = 'Wann die Mitteilung gesendet wurde.';
$string['privacy:metadata:block_dockchat_sent:useridfrom'] = 'Die Person, die die Mitteilung gesendet hat.';
$string['privacy:metadata:block_dockchat_window'] = 'Welche Chatfenster die Person geöffnet oder minimiert hat.';
$string['privacy:metadata:block_dockchat_window:peerid'] = 'Die andere Person des Chatfensters.';
$string['privacy:metadata:block_dockchat_window:state'] = 'Ob das Chatfenster geöffnet oder minimiert ist.';
$string['privacy:metadata:block_dockchat_window:timemodified'] = 'Wann das Chatfenster zuletzt geöffnet oder minimiert wurde.';
$string['privacy:metadata:block_dockchat_window:userid'] = 'Die Person, die das Fenster geöffnet hat.';
$string['privacy:metadata:core_message'] = 'Die Chatmitteilungen, Unterhaltungen und Lesestände werden im Mitteilungssystem von Moodle gespeichert.';
$string['privacy:metadata:dockchatd'] = 'Der Dock-Chat-Dienst (dockchatd) empfängt Mitteilungen vom Browser und speichert sie in der Datenbank dieser Website.';
$string['privacy:metadata:dockchatd:fullname'] = 'Der vollständige Name der Person, den Kursmitglieder sehen.';
$string['privacy:metadata:dockchatd:message'] = 'Die Mitteilungen, die die Person sendet und empfängt.';
$string['privacy:metadata:dockchatd:userid'] = 'Die ID der Person, um Mitteilungen zuzustellen.';
$string['privacy:metadata:preference:block_dockchat_desktop'] = 'Ob eine Desktop-Benachrichtigung neue Mitteilungen zeigt, während die Seite im Hintergrund ist.';
$string['privacy:metadata:preference:block_dockchat_sound'] = 'Ob bei neuen Mitteilungen ein Ton abgespielt wird.';
$string['privacy:path:sent'] = 'Aus dem Dock gesendete Mitteilungen';
$string['privacy:path:windows'] = 'Chatfenster';
$string['privacy:window:minimised'] = 'Minimiert';
$string['privacy:window:open'] = 'Geöffnet';
$string['reconnectnow'] = 'Jetzt neu verbinden';
$string['regeneratesecret'] = 'Token-Geheimnis neu erzeugen';
$string['regeneratesecret_confirm'] = 'Ein neues Token-Geheimnis erzeugen? Mit dem aktuellen Geheimnis signierte Tokens werden sofort ungültig. dockchatd liest das neue Geheimnis innerhalb einer Minute selbst aus der Datenbank; nur wenn Sie das Geheimnis in seine Konfiguration kopiert haben (token_secret), müssen Sie es dort ersetzen.';
$string['removefromfavourites'] = 'Markierung entfernen';
$string['restore'] = 'Wiederherstellen';
$string['retry'] = 'Erneut versuchen';
$string['role:coursecreator'] = 'Kursersteller/in';
$string['role:editingteacher'] = 'Trainer/in';
$string['role:frontpage'] = 'Authentifizierte/r Nutzer/in auf der Startseite';
$string['role:guest'] = 'Gast';
$string['role:manager'] = 'Manager/in';
$string['role:student'] = 'Teilnehmer/in';
$string['role:teacher'] = 'Trainer/in ohne Bearbeitungsrecht';
$string['role:user'] = 'Authentifizierte/r Nutzer/in';
$string['searching'] = 'Suche läuft…';
$string['searchpeople'] = 'Personen suchen';
$string['searchresults'] = 'Gefundene Personen';
$string['secret'] = 'Token-Geheimnis';
$string['secret_desc'] = 'Das Geheimnis, mit dem die kurzlebigen Tokens signiert werden, mit denen sich Browser bei dockchatd anmelden. Es wurde bei der Installation des Blocks erzeugt. dockchatd liest es selbst aus der Datenbank dieser Website; kopieren Sie es nur dann in <code>token_secret</code> von dockchatd, wenn der Dienst die Tabelle <code>config_plugins</code> nicht lesen kann. <a href="{$a}">Geheimnis neu erzeugen</a>.';
$string['secret_invalid'] = 'Das Geheimnis muss mindestens {$a} Zeichen lang sein und darf keine Leerzeichen enthalten.';
$string['secretregenerated'] = 'Ein neues Token-Geheimnis wurde erzeugt. Geben Sie es dockchatd, falls dockchatd es nicht aus der Datenbank liest.';
$string['seen'] = 'Gesehen';
$string['seenbymany'] = 'Gesehen von {$a} Personen';
$string['seenbynames'] = 'Gesehen von: {$a}';
$string['seenbyone'] = 'Gesehen von {$a} Person';
$string['selfinmoodle'] = 'Ihr persönlicher Bereich öffnet sich im Mitteilungsbereich von Moodle.';
$string['send'] = 'Senden';
$string['sending'] = 'Wird gesendet…';
$string['sessionended'] = 'Ihre Sitzung ist beendet. Laden Sie die Seite neu, um wieder zu chatten.';
$string['showchatlist'] = 'Chatliste anzeigen';
$string['showmore'] = 'Mehr';
$string['starred'] = 'Markiert';
$string['task_process_queue'] = 'Dock-Chat-Warteschlange (Ersatz für den Worker)';
$string['today'] = 'Heute';
$string['tokenlifetime'] = 'Gültigkeitsdauer der Tokens';
$string['tokenlifetime_desc'] = 'Wie lange ein Chat-Token gültig bleibt, in Sekunden (60 bis 3600). Der Chat erneuert sein Token vor dem Ablauf, daher erreichen Änderungen an den Berechtigungen einer Person den Chatdienst innerhalb dieser Zeit.';
$string['toolongtosend'] = 'Diese Mitteilung ist zu lang zum Senden. Kürzen Sie sie oder senden Sie sie in mehreren Teilen.';
$string['typeamessage'] = 'Mitteilung schreiben…';
$string['typing'] = '{$a} schreibt…';
$string['typingothersmany'] = '{$a->name} und {$a->count} weitere Personen schreiben…';
$string['typingothersone'] = '{$a->name} und {$a->count} weitere Person schreiben…';
$string['unblockuser'] = 'Blockierung aufheben';
$string['unmuteconversation'] = 'Stummschaltung aufheben';
$string['unreadcountmany'] = '{$a} ungelesene Mitteilungen';
$string['unreadcountone'] = '{$a} ungelesene Mitteilung';
$string['wsurl'] = 'URL des Chatdienstes';
$string['wsurl_desc'] = 'Die öffentliche WebSocket-Adresse von dockchatd, wie Browser sie erreichen (zum Beispiel wss://moodle.example.edu/dockchat/ws). Leer lassen, um {$a} zu verwenden.';
$string['wsurl_invalid'] = 'Geben Sie eine WebSocket-URL ein, die mit wss:// beginnt (oder ws:// für Tests), oder lassen Sie das Feld leer.';
$string['yesterday'] = 'Gestern';
$string['you'] = 'Sie';
$string['youhaveblockeduser'] = 'Sie haben diese Person blockiert.';
