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
 * French strings for block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['addtofavourites'] = 'Marquer la conversation comme favorite';
$string['alertdesktop'] = 'Afficher les notifications de bureau';
$string['alertsettings'] = 'Réglages des alertes';
$string['alertsound'] = 'Jouer un son pour les nouveaux messages';
$string['alerttitlenote'] = 'Quand cette page est en arrière-plan, son titre indique le nombre de messages non lus (les conversations en sourdine ne comptent pas et n\'alertent jamais).';
$string['away'] = 'Absent';
$string['backtochats'] = 'Retour aux discussions';
$string['blockuser'] = 'Bloquer l\'utilisateur';
$string['blockuserconfirm'] = 'Voulez-vous vraiment bloquer {$a} ?';
$string['blockuserconfirmbutton'] = 'Bloquer';
$string['cachedef_caps'] = 'Réponses de permissions du dernier jeton de chat de chaque utilisateur, pour le jeton fourni avec la page suivante';
$string['cancel'] = 'Annuler';
$string['charsleftmany'] = '{$a} caractères restants';
$string['charsleftone'] = '{$a} caractère restant';
$string['charsovermany'] = '{$a} caractères en trop';
$string['charsoverone'] = '{$a} caractère en trop';
$string['chatheads'] = 'Discussions réduites';
$string['chats'] = 'Discussions';
$string['cli_queue_help'] = 'File du chat ancré : ce que le chemin d\'envoi de Moodle doit encore faire pour les messages stockés par dockchatd.

Options :
-s, --status      Arriéré par état (new, waiting, claimed, dispatching, done, uncertain, failed), les dernières
                  lignes incertaines et en échec avec leurs erreurs, les tâches et les battements des processus.
--requeue=ID      Remettre dans la file la ligne ID incertaine (5) ou en échec (6) : sa notification est renvoyée.
                  Le courriel d\'une ligne incertaine est peut-être déjà parti : ne la remettez que si vous savez que non.
-h, --help        Afficher cette aide.

Exemple :
$ sudo -u www-data php blocks/dockchat/cli/queue.php --status';
$string['cli_queue_notrequeued'] = 'La ligne {$a} n\'a pas été remise dans la file : elle n\'existe pas ou n\'est ni incertaine (5) ni en échec (6).';
$string['cli_queue_noworker'] = 'Aucun processus ne tourne (ni cli/worker.php ni la tâche planifiée).';
$string['cli_queue_requeued'] = 'La ligne {$a} attend de nouveau ; un processus la notifiera.';
$string['cli_worker_done'] = '{$a} élément(s) traité(s).';
$string['cli_worker_help'] = 'Processus de la file du chat ancré : pour chaque message stocké par dockchatd, fait ce que le chemin d\'envoi de
Moodle fait après l\'insertion (cache, notifications, événements). Tourne jusqu\'à SIGTERM ou SIGINT, ou pendant
10 minutes ou 10 000 éléments ; lancez-le avec systemd (deploy/dockchat-worker.service), qui le relance.

Options :
--once            Un passage sur la file, puis sortie.
-v, --verbose     Afficher ce qui est traité.
-h, --help        Afficher cette aide.

Exemple :
$ sudo -u www-data php blocks/dockchat/cli/worker.php --once --verbose';
$string['cli_worker_upgradepending'] = 'Une mise à jour de Moodle est en attente : le processus du chat ancré l\'attend.';
$string['close'] = 'Fermer';
$string['closechatlist'] = 'Fermer la liste des discussions';
$string['closechatwith'] = 'Fermer la discussion avec {$a}';
$string['connected'] = 'Connecté';
$string['connecting'] = 'Connexion…';
$string['connectionlost'] = 'Connexion perdue. Reconnexion dans {$a} s…';
$string['conversationactions'] = 'Menu des actions de la conversation';
$string['conversationlist'] = 'Vos conversations';
$string['coursegroups'] = 'Groupes';
$string['delete'] = 'Supprimer';
$string['deleteallconfirm'] = 'Voulez-vous vraiment supprimer toute cette conversation ? Elle ne sera pas supprimée pour les autres participants.';
$string['deleteconversation'] = 'Supprimer la conversation';
$string['deleteforme'] = 'Supprimer pour moi';
$string['desktopallow'] = 'Réactivez cette option pour autoriser les notifications dans ce navigateur.';
$string['desktopblocked'] = 'Ce navigateur bloque les notifications de ce site : autorisez-les dans les paramètres du site.';
$string['disconnected'] = 'Le chat est hors ligne';
$string['dismiss'] = 'Retirer';
$string['dockchat:addinstance'] = 'Ajouter un bloc Dock chat';
$string['dockchat:myaddinstance'] = 'Ajouter un bloc Dock chat au tableau de bord';
$string['dockchat:use'] = 'Discuter avec les autres participants de ses cours dans des fenêtres ancrées';
$string['dockregion'] = 'Fenêtres de discussion';
$string['emptyconversation'] = 'Aucun message pour l’instant. Dites bonjour !';
$string['error:blocked'] = 'Vous ne pouvez pas envoyer de message à cette personne.';
$string['error:contacts_only'] = 'Cette personne n\'accepte que les messages de ses contacts.';
$string['error:conversation_disabled'] = 'Cette conversation de groupe est désactivée dans Moodle.';
$string['error:internal'] = 'Le message n\'a pas pu être envoyé. Nouvel essai…';
$string['error:messaging_disabled'] = 'La messagerie est désactivée sur ce site.';
$string['error:no_permission'] = 'Vous n\'avez pas l\'autorisation d\'envoyer des messages.';
$string['error:not_contactable'] = 'Vous pouvez écrire aux participants de vos cours et à vos contacts ; cette personne n\'est ni l\'un ni l\'autre.';
$string['error:not_member'] = 'Vous n\'êtes pas membre de cette conversation de groupe.';
$string['error:rate_limited'] = 'Vous envoyez des messages trop rapidement.';
$string['error:secretmissing'] = 'Le secret des jetons de Dock chat est absent ou trop court. Demandez à l\'administrateur du site de le définir dans les réglages du bloc Dock chat.';
$string['error:text_too_long'] = 'Le message est trop long.';
$string['error:unknown'] = 'Une erreur s\'est produite.';
$string['error:unknown_user'] = 'Cette personne n\'est plus disponible.';
$string['followeverywhere'] = 'Fenêtres de discussion sur toutes les pages';
$string['followeverywhere_desc'] = 'Si cette option est activée, les fenêtres de discussion ancrées suivent les utilisateurs sur toutes les pages du site, et pas seulement sur les pages qui affichent le bloc Dock chat.';
$string['lastseendaysmany'] = 'Vu il y a {$a} jours';
$string['lastseendaysone'] = 'Vu il y a {$a} jour';
$string['lastseenhoursmany'] = 'Vu il y a {$a} heures';
$string['lastseenhoursone'] = 'Vu il y a {$a} heure';
$string['lastseenjustnow'] = 'Vu à l’instant';
$string['lastseenminutesmany'] = 'Vu il y a {$a} minutes';
$string['lastseenminutesone'] = 'Vu il y a {$a} minute';
$string['launcher'] = 'Accès à la discussion';
$string['launcher_desc'] = 'Où les utilisateurs autorisés à discuter ouvrent la liste des discussions sur toutes les pages, sans le bloc : une icône dans la barre de navigation avec leurs messages non lus (à côté des messages et des notifications), un bouton rond en bas à droite de la page, ou aucun (seules les pages qui affichent le bloc ont la liste). Le bloc reste une liste facultative dans la page.';
$string['launcherfloating'] = 'Bouton rond en bas à droite';
$string['launchernavbar'] = 'Icône dans la barre de navigation';
$string['launcheroff'] = 'Aucun (le bloc seulement)';
$string['listelsewhere'] = 'Vos discussions sont dans l\'autre bloc de discussion de cette page.';
$string['loadingconversations'] = 'Chargement des conversations…';
$string['loadingolder'] = 'Chargement des messages précédents…';
$string['loadingpeople'] = 'Chargement des personnes…';
$string['membercountmany'] = '{$a} membres';
$string['membercountone'] = '{$a} membre';
$string['membersonline'] = '{$a->members}, {$a->online}';
$string['messagelist'] = 'Messages avec {$a}';
$string['messagesender'] = '{$a} :';
$string['migrationprogress'] = 'Transfert de l\'historique du chat vers les messages de Moodle : {$a->done} sur {$a->total}';
$string['minimise'] = 'Réduire';
$string['moreconversationsmany'] = '{$a} autres discussions';
$string['moreconversationsone'] = '{$a} autre discussion';
$string['muteconversation'] = 'Mettre en sourdine';
$string['muted'] = 'En sourdine';
$string['newmessage'] = 'Nouveau message';
$string['newmessagefrom'] = 'Nouveau message de {$a}';
$string['newmessagein'] = 'Nouveau message dans {$a}';
$string['newmessagesmany'] = '{$a} nouveaux messages';
$string['newmessagesone'] = '{$a} nouveau message';
$string['nobodyfound'] = 'Personne n’a été trouvé';
$string['nobodyonline'] = 'Aucun participant de vos cours n\'est en ligne pour le moment.';
$string['noconversations'] = 'Aucune conversation pour l’instant. Cherchez ci-dessus une personne à qui écrire.';
$string['nocoursemates'] = 'Vous n\'êtes encore dans aucun cours avec d\'autres personnes. Recherchez des personnes par leur nom ci-dessus.';
$string['nopeopleincourse'] = 'Personne dans ce cours ne peut recevoir de messages.';
$string['notificationin'] = '{$a->name} dans {$a->group}';
$string['notifydelay'] = 'Délai de notification';
$string['notifydelay_desc'] = 'Combien de temps attendre avant de notifier un message du chat ancré par courriel ou sur mobile. Qui le lit entre-temps n\'est pas notifié ; sinon, une seule notification regroupe tous les messages envoyés par l\'expéditeur pendant ce temps. 0 notifie chaque message tout de suite, comme Moodle le fait pour ses propres messages.';
$string['offline'] = 'Hors ligne';
$string['offlinereconnecting'] = 'Le chat est hors ligne — reconnexion en cours';
$string['online'] = 'En ligne';
$string['onlinecount'] = '{$a} en ligne';
$string['onlinelist'] = 'Participants de vos cours en ligne';
$string['onlinemembersmany'] = '{$a} en ligne';
$string['onlinemembersone'] = '{$a} en ligne';
$string['openchatwith'] = 'Discuter avec {$a}';
$string['people'] = 'Personnes';
$string['peoplein'] = 'Personnes dans {$a}';
$string['pluginname'] = 'Dock chat';
$string['previewyou'] = 'Vous :';
$string['privacy:metadata:block_dockchat_job'] = 'Travail en attente pour Moodle sur les messages lus ou supprimés dans le dock (les événements que Moodle déclenche pour eux). Les lignes sont supprimées une fois traitées.';
$string['privacy:metadata:block_dockchat_job:messageid'] = 'Le message qui a été lu ou supprimé.';
$string['privacy:metadata:block_dockchat_job:relateduserid'] = 'L\'utilisateur qui a envoyé le message, ou l\'utilisateur bloqué.';
$string['privacy:metadata:block_dockchat_job:timecreated'] = 'Quand le message a été lu ou supprimé.';
$string['privacy:metadata:block_dockchat_job:userid'] = 'L\'utilisateur qui a lu ou supprimé le message.';
$string['privacy:metadata:block_dockchat_sent'] = 'Pour chaque message envoyé depuis le dock : l\'identifiant que lui a donné le navigateur de l\'expéditeur, pour qu\'un message renvoyé ne soit enregistré qu\'une fois, et si Moodle a fini de le distribuer (notifications).';
$string['privacy:metadata:block_dockchat_sent:clientmsgid'] = 'L\'identifiant que le navigateur de l\'expéditeur a donné au message.';
$string['privacy:metadata:block_dockchat_sent:conversationid'] = 'La conversation Moodle du message.';
$string['privacy:metadata:block_dockchat_sent:messageid'] = 'Le message dans les messages de Moodle.';
$string['privacy:metadata:block_dockchat_sent:state'] = 'Où en est Moodle dans la distribution du message (notifications).';
$string['privacy:metadata:block_dockchat_sent:timecreated'] = 'Quand le message a été envoyé.';
$string['privacy:metadata:block_dockchat_sent:useridfrom'] = 'L\'utilisateur qui a envoyé le message.';
$string['privacy:metadata:block_dockchat_window'] = 'Les fenêtres de discussion que l\'utilisateur a ouvertes ou réduites.';
$string['privacy:metadata:block_dockchat_window:peerid'] = 'L\'autre utilisateur de la fenêtre de discussion.';
$string['privacy:metadata:block_dockchat_window:state'] = 'Si la fenêtre de discussion est ouverte ou réduite.';
$string['privacy:metadata:block_dockchat_window:timemodified'] = 'La dernière fois que la fenêtre de discussion a été ouverte ou réduite.';
$string['privacy:metadata:block_dockchat_window:userid'] = 'L\'utilisateur qui a ouvert la fenêtre.';
$string['privacy:metadata:core_message'] = 'Les messages du chat, les conversations et les états de lecture sont enregistrés dans la messagerie de Moodle.';
$string['privacy:metadata:dockchatd'] = 'Le service Dock chat (dockchatd) reçoit les messages du navigateur et les enregistre dans la base de données de ce site.';
$string['privacy:metadata:dockchatd:fullname'] = 'Le nom complet de l\'utilisateur, affiché aux participants de ses cours.';
$string['privacy:metadata:dockchatd:message'] = 'Les messages que l\'utilisateur envoie et reçoit.';
$string['privacy:metadata:dockchatd:userid'] = 'L\'identifiant de l\'utilisateur, pour distribuer les messages.';
$string['privacy:metadata:preference:block_dockchat_desktop'] = 'Si une notification de bureau affiche les nouveaux messages quand la page est en arrière-plan.';
$string['privacy:metadata:preference:block_dockchat_sound'] = 'Si un son est joué pour les nouveaux messages.';
$string['privacy:path:sent'] = 'Messages envoyés depuis le dock';
$string['privacy:path:windows'] = 'Fenêtres de discussion';
$string['privacy:window:minimised'] = 'Réduite';
$string['privacy:window:open'] = 'Ouverte';
$string['reconnectnow'] = 'Se reconnecter maintenant';
$string['regeneratesecret'] = 'Générer un nouveau secret des jetons';
$string['regeneratesecret_confirm'] = 'Générer un nouveau secret des jetons ? Les jetons signés avec le secret actuel cessent aussitôt de fonctionner. dockchatd lit lui-même le nouveau secret dans la base de données en moins d\'une minute ; vous ne devez le remplacer dans sa configuration que si vous l\'y avez copié (token_secret).';
$string['removefromfavourites'] = 'Retirer la conversation des favoris';
$string['restore'] = 'Restaurer';
$string['retry'] = 'Réessayer';
$string['role:coursecreator'] = 'Créateur de cours';
$string['role:editingteacher'] = 'Enseignant';
$string['role:frontpage'] = 'Utilisateur authentifié sur la page d\'accueil';
$string['role:guest'] = 'Invité';
$string['role:manager'] = 'Gestionnaire';
$string['role:student'] = 'Étudiant';
$string['role:teacher'] = 'Enseignant non éditeur';
$string['role:user'] = 'Utilisateur authentifié';
$string['searching'] = 'Recherche…';
$string['searchpeople'] = 'Rechercher des personnes';
$string['searchresults'] = 'Personnes trouvées';
$string['secret'] = 'Secret des jetons';
$string['secret_desc'] = 'Le secret qui signe les jetons de courte durée avec lesquels les navigateurs se connectent à dockchatd. Il a été généré à l\'installation du bloc. dockchatd le lit lui-même dans la base de données de ce site ; copiez-le dans le <code>token_secret</code> de dockchatd uniquement si le service ne peut pas lire la table <code>config_plugins</code>. <a href="{$a}">Générer un nouveau secret</a>.';
$string['secret_invalid'] = 'Le secret doit comporter au moins {$a} caractères, sans espaces.';
$string['secretregenerated'] = 'Un nouveau secret des jetons a été généré. Donnez-le à dockchatd s\'il ne le lit pas dans la base de données.';
$string['seen'] = 'Vu';
$string['seenbymany'] = 'Vu par {$a} personnes';
$string['seenbynames'] = 'Vu par : {$a}';
$string['seenbyone'] = 'Vu par {$a} personne';
$string['selfinmoodle'] = 'Votre espace personnel s’ouvre dans le tiroir de messagerie de Moodle.';
$string['send'] = 'Envoyer';
$string['sending'] = 'Envoi…';
$string['sessionended'] = 'Votre session est terminée. Rechargez la page pour discuter à nouveau.';
$string['showchatlist'] = 'Afficher la liste des discussions';
$string['showmore'] = 'Plus';
$string['starred'] = 'Favori';
$string['task_process_queue'] = 'File du chat ancré (relais du processus)';
$string['today'] = 'Aujourd\'hui';
$string['tokenlifetime'] = 'Durée de validité des jetons';
$string['tokenlifetime_desc'] = 'Durée, en secondes, pendant laquelle un jeton du chat reste valide (de 60 à 3600). Le chat renouvelle son jeton avant son expiration : les changements d\'autorisations d\'un utilisateur atteignent donc le service de chat dans ce délai.';
$string['toolongtosend'] = 'Ce message est trop long pour être envoyé. Raccourcissez-le ou envoyez-le en plusieurs parties.';
$string['typeamessage'] = 'Écrire un message…';
$string['typing'] = '{$a} est en train d\'écrire…';
$string['typingothersmany'] = '{$a->name} et {$a->count} autres personnes écrivent…';
$string['typingothersone'] = '{$a->name} et {$a->count} autre personne écrivent…';
$string['unblockuser'] = 'Débloquer l\'utilisateur';
$string['unmuteconversation'] = 'Réactiver le son';
$string['unreadcountmany'] = '{$a} messages non lus';
$string['unreadcountone'] = '{$a} message non lu';
$string['wsurl'] = 'URL du service de chat';
$string['wsurl_desc'] = 'L\'adresse WebSocket publique de dockchatd, telle que les navigateurs l\'atteignent (par exemple wss://moodle.example.edu/dockchat/ws). Laissez vide pour utiliser {$a}.';
$string['wsurl_invalid'] = 'Saisissez une URL WebSocket commençant par wss:// (ou ws:// pour des tests), ou laissez le champ vide.';
$string['yesterday'] = 'Hier';
$string['you'] = 'Vous';
$string['youhaveblockeduser'] = 'Vous avez bloqué cet utilisateur.';
