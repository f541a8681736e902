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
 * Spanish strings for block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['addtofavourites'] = 'Destacar conversación';
$string['alertdesktop'] = 'Mostrar notificaciones de escritorio';
$string['alertsettings'] = 'Ajustes de avisos';
$string['alertsound'] = 'Reproducir un sonido con los mensajes nuevos';
$string['alerttitlenote'] = 'Mientras esta página está en segundo plano, su título muestra cuántos mensajes no se han leído (las conversaciones silenciadas no cuentan y nunca avisan).';
$string['away'] = 'Ausente';
$string['backtochats'] = 'Volver a los chats';
$string['blockuser'] = 'Bloquear usuario';
$string['blockuserconfirm'] = '¿Está seguro de que desea bloquear a {$a}?';
$string['blockuserconfirmbutton'] = 'Bloquear';
$string['cachedef_caps'] = 'Respuestas de permisos del último token de chat de cada usuario, para el token que llega con la página siguiente';
$string['cancel'] = 'Cancelar';
$string['charsleftmany'] = 'Quedan {$a} caracteres';
$string['charsleftone'] = 'Queda {$a} carácter';
$string['charsovermany'] = '{$a} caracteres de más';
$string['charsoverone'] = '{$a} carácter de más';
$string['chatheads'] = 'Conversaciones minimizadas';
$string['chats'] = 'Chats';
$string['cli_queue_help'] = 'Cola del chat acoplado: lo que la ruta de envío de Moodle aún debe hacer con los mensajes que dockchatd guardó.

Opciones:
-s, --status      Pendientes por estado (new, waiting, claimed, dispatching, done, uncertain, failed), las últimas
                  filas inciertas y fallidas con sus errores, las tareas y los latidos de los procesos.
--requeue=ID      Devolver a la cola la fila ID incierta (5) o fallida (6): su notificación se envía de nuevo.
                  El correo de una fila incierta puede haber salido ya: devuélvala solo si sabe que no salió.
-h, --help        Mostrar esta ayuda.

Ejemplo:
$ sudo -u www-data php blocks/dockchat/cli/queue.php --status';
$string['cli_queue_notrequeued'] = 'La fila {$a} no se devolvió a la cola: no existe o no está incierta (5) ni fallida (6).';
$string['cli_queue_noworker'] = 'No hay ningún proceso en marcha (ni cli/worker.php ni la tarea programada).';
$string['cli_queue_requeued'] = 'La fila {$a} vuelve a esperar; un proceso la notificará.';
$string['cli_worker_done'] = '{$a} elemento(s) procesado(s).';
$string['cli_worker_help'] = 'Proceso de la cola del chat acoplado: para cada mensaje que dockchatd guardó, hace lo que la ruta de envío de
Moodle hace tras insertarlo (caché, notificaciones, eventos). Funciona hasta SIGTERM o SIGINT, o durante 10 minutos
o 10.000 elementos; ejecútelo con systemd (deploy/dockchat-worker.service), que lo vuelve a iniciar.

Opciones:
--once            Una pasada por la cola y salir.
-v, --verbose     Mostrar lo que se procesa.
-h, --help        Mostrar esta ayuda.

Ejemplo:
$ sudo -u www-data php blocks/dockchat/cli/worker.php --once --verbose';
$string['cli_worker_upgradepending'] = 'Moodle tiene una actualización pendiente: el proceso del chat acoplado la espera.';
$string['close'] = 'Cerrar';
$string['closechatlist'] = 'Cerrar la lista de chats';
$string['closechatwith'] = 'Cerrar el chat con {$a}';
$string['connected'] = 'Conectado';
$string['connecting'] = 'Conectando…';
$string['connectionlost'] = 'Se perdió la conexión. Reconectando en {$a} s…';
$string['conversationactions'] = 'Menú de acciones de la conversación';
$string['conversationlist'] = 'Sus conversaciones';
$string['coursegroups'] = 'Grupos';
$string['delete'] = 'Eliminar';
$string['deleteallconfirm'] = '¿Está seguro de que desea eliminar toda esta conversación? No se eliminará para los demás participantes.';
$string['deleteconversation'] = 'Eliminar conversación';
$string['deleteforme'] = 'Eliminar para mí';
$string['desktopallow'] = 'Actívelo de nuevo para permitir las notificaciones en este navegador.';
$string['desktopblocked'] = 'Este navegador bloquea las notificaciones de este sitio: permítalas en su configuración del sitio.';
$string['disconnected'] = 'El chat está desconectado';
$string['dismiss'] = 'Descartar';
$string['dockchat:addinstance'] = 'Añadir un nuevo bloque Dock chat';
$string['dockchat:myaddinstance'] = 'Añadir un nuevo bloque Dock chat al Área personal';
$string['dockchat:use'] = 'Chatear con compañeros de curso en ventanas acopladas';
$string['dockregion'] = 'Ventanas de chat';
$string['emptyconversation'] = 'Aún no hay mensajes. ¡Salude!';
$string['error:blocked'] = 'No puede enviar mensajes a esta persona.';
$string['error:contacts_only'] = 'Esta persona solo acepta mensajes de sus contactos.';
$string['error:conversation_disabled'] = 'Esta conversación de grupo está desactivada en Moodle.';
$string['error:internal'] = 'No se pudo enviar el mensaje. Reintentando…';
$string['error:messaging_disabled'] = 'La mensajería está desactivada en este sitio.';
$string['error:no_permission'] = 'No tiene permiso para enviar mensajes.';
$string['error:not_contactable'] = 'Puede escribir a sus compañeros de curso y a sus contactos; esta persona no es ninguna de las dos cosas.';
$string['error:not_member'] = 'No es miembro de esta conversación de grupo.';
$string['error:rate_limited'] = 'Está enviando mensajes demasiado rápido.';
$string['error:secretmissing'] = 'Falta el secreto de los tokens de Dock chat o es demasiado corto. Pida al administrador del sitio que lo configure en los ajustes del bloque Dock chat.';
$string['error:text_too_long'] = 'El mensaje es demasiado largo.';
$string['error:unknown'] = 'Algo salió mal.';
$string['error:unknown_user'] = 'Esta persona ya no está disponible.';
$string['followeverywhere'] = 'Ventanas de chat en todas las páginas';
$string['followeverywhere_desc'] = 'Si se activa, las ventanas de chat acopladas acompañan a los usuarios en todas las páginas del sitio, no solo en las que muestran el bloque Dock chat.';
$string['lastseendaysmany'] = 'Visto hace {$a} días';
$string['lastseendaysone'] = 'Visto hace {$a} día';
$string['lastseenhoursmany'] = 'Visto hace {$a} horas';
$string['lastseenhoursone'] = 'Visto hace {$a} hora';
$string['lastseenjustnow'] = 'Visto hace un momento';
$string['lastseenminutesmany'] = 'Visto hace {$a} minutos';
$string['lastseenminutesone'] = 'Visto hace {$a} minuto';
$string['launcher'] = 'Acceso al chat';
$string['launcher_desc'] = 'Dónde abren la lista de conversaciones en todas las páginas los usuarios que pueden chatear, sin el bloque: un icono en la barra de navegación con sus mensajes sin leer (junto a los mensajes y las notificaciones), un botón redondo abajo a la derecha de la página, o ninguno (solo las páginas que muestran el bloque tienen la lista). El bloque sigue siendo una lista opcional en la página.';
$string['launcherfloating'] = 'Botón redondo abajo a la derecha';
$string['launchernavbar'] = 'Icono en la barra de navegación';
$string['launcheroff'] = 'Ninguno (solo el bloque)';
$string['listelsewhere'] = 'Sus conversaciones están en el otro bloque de chat de esta página.';
$string['loadingconversations'] = 'Cargando conversaciones…';
$string['loadingolder'] = 'Cargando mensajes anteriores…';
$string['loadingpeople'] = 'Cargando personas…';
$string['membercountmany'] = '{$a} miembros';
$string['membercountone'] = '{$a} miembro';
$string['membersonline'] = '{$a->members}, {$a->online}';
$string['messagelist'] = 'Mensajes con {$a}';
$string['messagesender'] = '{$a}:';
$string['migrationprogress'] = 'Trasladando el historial del chat a los mensajes de Moodle: {$a->done} de {$a->total}';
$string['minimise'] = 'Minimizar';
$string['moreconversationsmany'] = '{$a} conversaciones más';
$string['moreconversationsone'] = '{$a} conversación más';
$string['muteconversation'] = 'Silenciar';
$string['muted'] = 'Silenciada';
$string['newmessage'] = 'Mensaje nuevo';
$string['newmessagefrom'] = 'Mensaje nuevo de {$a}';
$string['newmessagein'] = 'Mensaje nuevo en {$a}';
$string['newmessagesmany'] = '{$a} mensajes nuevos';
$string['newmessagesone'] = '{$a} mensaje nuevo';
$string['nobodyfound'] = 'No se encontró a nadie';
$string['nobodyonline'] = 'Ninguno de sus compañeros de curso está en línea ahora mismo.';
$string['noconversations'] = 'Aún no hay conversaciones. Busque arriba a alguien a quien escribir.';
$string['nocoursemates'] = 'Aún no está en un curso con otras personas. Busque personas por su nombre arriba.';
$string['nopeopleincourse'] = 'No se puede enviar mensajes a nadie de este curso.';
$string['notificationin'] = '{$a->name} en {$a->group}';
$string['notifydelay'] = 'Retraso de la notificación';
$string['notifydelay_desc'] = 'Cuánto esperar antes de notificar un mensaje del chat acoplado por correo o en el móvil. Quien lo lea mientras tanto no recibe notificación; quien no, recibe una sola con todos los mensajes que el remitente envió en ese tiempo. 0 notifica cada mensaje al momento, como hace Moodle con sus propios mensajes.';
$string['offline'] = 'Desconectado';
$string['offlinereconnecting'] = 'El chat está desconectado — reconectando';
$string['online'] = 'En línea';
$string['onlinecount'] = '{$a} en línea';
$string['onlinelist'] = 'Compañeros de curso en línea';
$string['onlinemembersmany'] = '{$a} en línea';
$string['onlinemembersone'] = '{$a} en línea';
$string['openchatwith'] = 'Chatear con {$a}';
$string['people'] = 'Personas';
$string['peoplein'] = 'Personas en {$a}';
$string['pluginname'] = 'Dock chat';
$string['previewyou'] = 'Usted:';
$string['privacy:metadata:block_dockchat_job'] = 'Trabajo pendiente para Moodle sobre mensajes leídos o eliminados en el dock (los eventos que Moodle lanza para ellos). Las filas se eliminan una vez hechas.';
$string['privacy:metadata:block_dockchat_job:messageid'] = 'El mensaje que se leyó o eliminó.';
$string['privacy:metadata:block_dockchat_job:relateduserid'] = 'El usuario que envió el mensaje, o el usuario bloqueado.';
$string['privacy:metadata:block_dockchat_job:timecreated'] = 'Cuándo se leyó o eliminó el mensaje.';
$string['privacy:metadata:block_dockchat_job:userid'] = 'El usuario que leyó o eliminó el mensaje.';
$string['privacy:metadata:block_dockchat_sent'] = 'Para cada mensaje enviado desde el dock: el identificador que le dio el navegador del remitente, para que un mensaje reenviado se guarde una sola vez, y si Moodle ha terminado de entregarlo (notificaciones).';
$string['privacy:metadata:block_dockchat_sent:clientmsgid'] = 'El identificador que el navegador del remitente dio al mensaje.';
$string['privacy:metadata:block_dockchat_sent:conversationid'] = 'La conversación de Moodle del mensaje.';
$string['privacy:metadata:block_dockchat_sent:messageid'] = 'El mensaje en los mensajes de Moodle.';
$string['privacy:metadata:block_dockchat_sent:state'] = 'Hasta dónde ha llegado Moodle en la entrega del mensaje (notificaciones).';
$string['privacy:metadata:block_dockchat_sent:timecreated'] = 'Cuándo se envió el mensaje.';
$string['privacy:metadata:block_dockchat_sent:useridfrom'] = 'El usuario que envió el mensaje.';
$string['privacy:metadata:block_dockchat_window'] = 'Qué ventanas de chat tiene el usuario abiertas o minimizadas.';
$string['privacy:metadata:block_dockchat_window:peerid'] = 'El otro usuario de la ventana de chat.';
$string['privacy:metadata:block_dockchat_window:state'] = 'Si la ventana de chat está abierta o minimizada.';
$string['privacy:metadata:block_dockchat_window:timemodified'] = 'Cuándo se abrió o minimizó la ventana de chat por última vez.';
$string['privacy:metadata:block_dockchat_window:userid'] = 'El usuario que tiene la ventana abierta.';
$string['privacy:metadata:core_message'] = 'Los mensajes del chat, las conversaciones y los estados de lectura se guardan en el sistema de mensajería de Moodle.';
$string['privacy:metadata:dockchatd'] = 'El servicio de Dock chat (dockchatd) recibe los mensajes del navegador y los guarda en la base de datos de este sitio.';
$string['privacy:metadata:dockchatd:fullname'] = 'El nombre completo del usuario, que ven sus compañeros de curso.';
$string['privacy:metadata:dockchatd:message'] = 'Los mensajes que el usuario envía y recibe.';
$string['privacy:metadata:dockchatd:userid'] = 'El ID del usuario, para entregar los mensajes.';
$string['privacy:metadata:preference:block_dockchat_desktop'] = 'Si una notificación de escritorio muestra los mensajes nuevos mientras la página está en segundo plano.';
$string['privacy:metadata:preference:block_dockchat_sound'] = 'Si suena un sonido con los mensajes nuevos.';
$string['privacy:path:sent'] = 'Mensajes enviados desde el dock';
$string['privacy:path:windows'] = 'Ventanas de chat';
$string['privacy:window:minimised'] = 'Minimizada';
$string['privacy:window:open'] = 'Abierta';
$string['reconnectnow'] = 'Reconectar ahora';
$string['regeneratesecret'] = 'Generar un nuevo secreto de los tokens';
$string['regeneratesecret_confirm'] = '¿Generar un nuevo secreto de los tokens? Los tokens firmados con el secreto actual dejarán de funcionar de inmediato. dockchatd lee por sí mismo el nuevo secreto de la base de datos en menos de un minuto; solo si copió el secreto en su configuración (token_secret) debe sustituirlo allí.';
$string['removefromfavourites'] = 'Quitar de destacados';
$string['restore'] = 'Restaurar';
$string['retry'] = 'Reintentar';
$string['role:coursecreator'] = 'Creador de curso';
$string['role:editingteacher'] = 'Profesor';
$string['role:frontpage'] = 'Usuario identificado en la página principal';
$string['role:guest'] = 'Invitado';
$string['role:manager'] = 'Gestor';
$string['role:student'] = 'Estudiante';
$string['role:teacher'] = 'Profesor sin permiso de edición';
$string['role:user'] = 'Usuario identificado';
$string['searching'] = 'Buscando…';
$string['searchpeople'] = 'Buscar personas';
$string['searchresults'] = 'Personas encontradas';
$string['secret'] = 'Secreto de los tokens';
$string['secret_desc'] = 'El secreto que firma los tokens de corta duración con los que los navegadores inician sesión en dockchatd. Se generó al instalar el bloque. dockchatd lo lee por sí mismo de la base de datos de este sitio; cópielo en el <code>token_secret</code> de dockchatd solo si el servicio no puede leer la tabla <code>config_plugins</code>. <a href="{$a}">Generar un nuevo secreto</a>.';
$string['secret_invalid'] = 'El secreto debe tener al menos {$a} caracteres, sin espacios.';
$string['secretregenerated'] = 'Se generó un nuevo secreto de los tokens. Proporcióneselo a dockchatd si no lo lee de la base de datos.';
$string['seen'] = 'Visto';
$string['seenbymany'] = 'Visto por {$a} personas';
$string['seenbynames'] = 'Visto por: {$a}';
$string['seenbyone'] = 'Visto por {$a} persona';
$string['selfinmoodle'] = 'Su espacio personal se abre en el panel de mensajes de Moodle.';
$string['send'] = 'Enviar';
$string['sending'] = 'Enviando…';
$string['sessionended'] = 'Su sesión ha terminado. Recargue la página para volver a chatear.';
$string['showchatlist'] = 'Mostrar la lista de conversaciones';
$string['showmore'] = 'Más';
$string['starred'] = 'Destacada';
$string['task_process_queue'] = 'Cola del chat acoplado (respaldo del proceso)';
$string['today'] = 'Hoy';
$string['tokenlifetime'] = 'Duración de los tokens';
$string['tokenlifetime_desc'] = 'Cuánto tiempo, en segundos, es válido un token del chat (de 60 a 3600). El chat renueva su token antes de que caduque, así que los cambios en los permisos de un usuario llegan al servicio de chat dentro de este plazo.';
$string['toolongtosend'] = 'Este mensaje es demasiado largo para enviarlo. Acórtelo o envíelo en varias partes.';
$string['typeamessage'] = 'Escriba un mensaje…';
$string['typing'] = '{$a} está escribiendo…';
$string['typingothersmany'] = '{$a->name} y {$a->count} personas más están escribiendo…';
$string['typingothersone'] = '{$a->name} y {$a->count} persona más están escribiendo…';
$string['unblockuser'] = 'Desbloquear usuario';
$string['unmuteconversation'] = 'Dejar de silenciar';
$string['unreadcountmany'] = '{$a} mensajes sin leer';
$string['unreadcountone'] = '{$a} mensaje sin leer';
$string['wsurl'] = 'URL del servicio de chat';
$string['wsurl_desc'] = 'La dirección WebSocket pública de dockchatd, tal como la alcanzan los navegadores (por ejemplo wss://moodle.example.edu/dockchat/ws). Déjela vacía para usar {$a}.';
$string['wsurl_invalid'] = 'Introduzca una URL WebSocket que empiece por wss:// (o ws:// para pruebas), o deje el campo vacío.';
$string['yesterday'] = 'Ayer';
$string['you'] = 'Usted';
$string['youhaveblockeduser'] = 'Ha bloqueado a este usuario.';
