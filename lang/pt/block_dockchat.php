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
 * Portuguese strings for block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['addtofavourites'] = 'Marcar conversa com estrela';
$string['alertdesktop'] = 'Mostrar notificações no ambiente de trabalho';
$string['alertsettings'] = 'Definições de alertas';
$string['alertsound'] = 'Tocar um som para mensagens novas';
$string['alerttitlenote'] = 'Enquanto esta página está em segundo plano, o título mostra quantas mensagens estão por ler (as conversas silenciadas não contam e nunca alertam).';
$string['away'] = 'Ausente';
$string['backtochats'] = 'Voltar às conversas';
$string['blockuser'] = 'Bloquear utilizador';
$string['blockuserconfirm'] = 'Tem a certeza de que pretende bloquear {$a}?';
$string['blockuserconfirmbutton'] = 'Bloquear';
$string['cachedef_caps'] = 'Respostas de permissões do último token de chat de cada utilizador, para o token que vem com a página seguinte';
$string['cancel'] = 'Cancelar';
$string['charsleftmany'] = 'Restam {$a} caracteres';
$string['charsleftone'] = 'Resta {$a} carácter';
$string['charsovermany'] = '{$a} caracteres a mais';
$string['charsoverone'] = '{$a} carácter a mais';
$string['chatheads'] = 'Conversas minimizadas';
$string['chats'] = 'Conversas';
$string['cli_queue_help'] = 'Fila do chat acoplado: o que o caminho de envio do Moodle ainda tem de fazer com as mensagens que o dockchatd guardou.

Opções:
-s, --status      Pendentes por estado (new, waiting, claimed, dispatching, done, uncertain, failed), as últimas
                  linhas incertas e falhadas com os seus erros, os trabalhos e os sinais de vida dos processos.
--requeue=ID      Repor na fila a linha ID incerta (5) ou falhada (6): a sua notificação é enviada de novo.
                  O email de uma linha incerta pode já ter saído: reponha-a só se souber que não saiu.
-h, --help        Mostrar esta ajuda.

Exemplo:
$ sudo -u www-data php blocks/dockchat/cli/queue.php --status';
$string['cli_queue_notrequeued'] = 'A linha {$a} não foi reposta na fila: não existe ou não está incerta (5) nem falhada (6).';
$string['cli_queue_noworker'] = 'Nenhum processo está a correr (nem cli/worker.php nem a tarefa agendada).';
$string['cli_queue_requeued'] = 'A linha {$a} está de novo à espera; um processo vai notificá-la.';
$string['cli_worker_done'] = '{$a} item(ns) tratado(s).';
$string['cli_worker_help'] = 'Processo da fila do chat acoplado: para cada mensagem que o dockchatd guardou, faz o que o caminho de envio do
Moodle faz depois de a inserir (cache, notificações, eventos). Corre até SIGTERM ou SIGINT, ou durante 10 minutos
ou 10 000 itens; corra-o com o systemd (deploy/dockchat-worker.service), que o volta a iniciar.

Opções:
--once            Uma passagem pela fila, depois sair.
-v, --verbose     Mostrar o que é tratado.
-h, --help        Mostrar esta ajuda.

Exemplo:
$ sudo -u www-data php blocks/dockchat/cli/worker.php --once --verbose';
$string['cli_worker_upgradepending'] = 'O Moodle tem uma atualização pendente: o processo do chat acoplado espera por ela.';
$string['close'] = 'Fechar';
$string['closechatlist'] = 'Fechar a lista de conversas';
$string['closechatwith'] = 'Fechar a conversa com {$a}';
$string['connected'] = 'Ligado';
$string['connecting'] = 'A ligar…';
$string['connectionlost'] = 'Ligação perdida. Nova tentativa dentro de {$a} s…';
$string['conversationactions'] = 'Menu de ações da conversa';
$string['conversationlist'] = 'As suas conversas';
$string['coursegroups'] = 'Grupos';
$string['delete'] = 'Apagar';
$string['deleteallconfirm'] = 'Tem a certeza de que pretende apagar toda esta conversa? Não será apagada para os outros participantes.';
$string['deleteconversation'] = 'Apagar conversa';
$string['deleteforme'] = 'Apagar para mim';
$string['desktopallow'] = 'Ative de novo para permitir notificações neste navegador.';
$string['desktopblocked'] = 'Este navegador bloqueia as notificações deste site: permita-as nas definições do site.';
$string['disconnected'] = 'O chat está desligado';
$string['dismiss'] = 'Descartar';
$string['dockchat:addinstance'] = 'Adicionar um novo bloco Dock chat';
$string['dockchat:myaddinstance'] = 'Adicionar um novo bloco Dock chat à Área pessoal';
$string['dockchat:use'] = 'Conversar com colegas de disciplina em janelas acopladas';
$string['dockregion'] = 'Janelas de conversa';
$string['emptyconversation'] = 'Ainda não há mensagens. Diga olá!';
$string['error:blocked'] = 'Não pode enviar mensagens a esta pessoa.';
$string['error:contacts_only'] = 'Esta pessoa só aceita mensagens dos seus contactos.';
$string['error:conversation_disabled'] = 'Esta conversa de grupo está desativada no Moodle.';
$string['error:internal'] = 'Não foi possível enviar a mensagem. A tentar de novo…';
$string['error:messaging_disabled'] = 'As mensagens estão desativadas neste site.';
$string['error:no_permission'] = 'Não tem permissão para enviar mensagens.';
$string['error:not_contactable'] = 'Pode enviar mensagens aos seus colegas de disciplina e contactos; esta pessoa não é nenhum deles.';
$string['error:not_member'] = 'Não é membro desta conversa de grupo.';
$string['error:rate_limited'] = 'Está a enviar mensagens demasiado depressa.';
$string['error:secretmissing'] = 'O segredo dos tokens do Dock chat não existe ou é demasiado curto. Peça ao administrador do site que o defina nas configurações do bloco Dock chat.';
$string['error:text_too_long'] = 'A mensagem é demasiado longa.';
$string['error:unknown'] = 'Ocorreu um erro.';
$string['error:unknown_user'] = 'Esta pessoa já não está disponível.';
$string['followeverywhere'] = 'Janelas de conversa em todas as páginas';
$string['followeverywhere_desc'] = 'Se ativado, as janelas de conversa acopladas acompanham os utilizadores em todas as páginas do site, e não apenas nas páginas que mostram o bloco Dock chat.';
$string['lastseendaysmany'] = 'Visto há {$a} dias';
$string['lastseendaysone'] = 'Visto há {$a} dia';
$string['lastseenhoursmany'] = 'Visto há {$a} horas';
$string['lastseenhoursone'] = 'Visto há {$a} hora';
$string['lastseenjustnow'] = 'Visto agora mesmo';
$string['lastseenminutesmany'] = 'Visto há {$a} minutos';
$string['lastseenminutesone'] = 'Visto há {$a} minuto';
$string['launcher'] = 'Acesso ao chat';
$string['launcher_desc'] = 'Onde os utilizadores que podem conversar abrem a lista de conversas em todas as páginas, sem o bloco: um ícone na barra de navegação com o número de mensagens por ler (ao lado das mensagens e notificações), um botão redondo no canto inferior direito da página, ou nenhum (só as páginas que mostram o bloco têm a lista). O bloco continua a ser uma lista opcional na página.';
$string['launcherfloating'] = 'Botão redondo no canto inferior direito';
$string['launchernavbar'] = 'Ícone na barra de navegação';
$string['launcheroff'] = 'Nenhum (só o bloco)';
$string['listelsewhere'] = 'As suas conversas estão no outro bloco de chat desta página.';
$string['loadingconversations'] = 'A carregar conversas…';
$string['loadingolder'] = 'A carregar mensagens anteriores…';
$string['loadingpeople'] = 'A carregar pessoas…';
$string['membercountmany'] = '{$a} membros';
$string['membercountone'] = '{$a} membro';
$string['membersonline'] = '{$a->members}, {$a->online}';
$string['messagelist'] = 'Mensagens com {$a}';
$string['messagesender'] = '{$a}:';
$string['migrationprogress'] = 'A transferir o histórico do chat para as mensagens do Moodle: {$a->done} de {$a->total}';
$string['minimise'] = 'Minimizar';
$string['moreconversationsmany'] = 'Mais {$a} conversas';
$string['moreconversationsone'] = 'Mais {$a} conversa';
$string['muteconversation'] = 'Silenciar';
$string['muted'] = 'Silenciada';
$string['newmessage'] = 'Nova mensagem';
$string['newmessagefrom'] = 'Nova mensagem de {$a}';
$string['newmessagein'] = 'Nova mensagem em {$a}';
$string['newmessagesmany'] = '{$a} mensagens novas';
$string['newmessagesone'] = '{$a} mensagem nova';
$string['nobodyfound'] = 'Ninguém encontrado';
$string['nobodyonline'] = 'Nenhum dos seus colegas de disciplina está online neste momento.';
$string['noconversations'] = 'Ainda não há conversas. Procure acima alguém a quem escrever.';
$string['nocoursemates'] = 'Ainda não está numa disciplina com outras pessoas. Procure pessoas pelo nome acima.';
$string['nopeopleincourse'] = 'Ninguém nesta disciplina pode receber mensagens.';
$string['notificationin'] = '{$a->name} em {$a->group}';
$string['notifydelay'] = 'Atraso da notificação';
$string['notifydelay_desc'] = 'Quanto tempo esperar antes de notificar uma mensagem do chat acoplado por email ou no telemóvel. Quem a ler entretanto não é notificado; quem não a ler recebe uma única notificação com todas as mensagens que o remetente enviou nesse tempo. 0 notifica cada mensagem de imediato, como o Moodle faz com as suas próprias mensagens.';
$string['offline'] = 'Offline';
$string['offlinereconnecting'] = 'O chat está desligado — a restabelecer a ligação';
$string['online'] = 'Online';
$string['onlinecount'] = '{$a} online';
$string['onlinelist'] = 'Colegas de disciplina online';
$string['onlinemembersmany'] = '{$a} online';
$string['onlinemembersone'] = '{$a} online';
$string['openchatwith'] = 'Conversar com {$a}';
$string['people'] = 'Pessoas';
$string['peoplein'] = 'Pessoas em {$a}';
$string['pluginname'] = 'Dock chat';
$string['previewyou'] = 'Você:';
$string['privacy:metadata:block_dockchat_job'] = 'Trabalho pendente para o Moodle sobre mensagens lidas ou eliminadas no dock (os eventos que o Moodle dispara para elas). As linhas são removidas depois de tratadas.';
$string['privacy:metadata:block_dockchat_job:messageid'] = 'A mensagem que foi lida ou eliminada.';
$string['privacy:metadata:block_dockchat_job:relateduserid'] = 'O utilizador que enviou a mensagem, ou o utilizador bloqueado.';
$string['privacy:metadata:block_dockchat_job:timecreated'] = 'Quando a mensagem foi lida ou eliminada.';
$string['privacy:metadata:block_dockchat_job:userid'] = 'O utilizador que leu ou eliminou a mensagem.';
$string['privacy:metadata:block_dockchat_sent'] = 'Para cada mensagem enviada a partir do dock: o identificador que o navegador do remetente lhe deu, para que uma mensagem reenviada seja guardada uma só vez, e se o Moodle terminou de a entregar (notificações).';
$string['privacy:metadata:block_dockchat_sent:clientmsgid'] = 'O identificador que o navegador do remetente deu à mensagem.';
$string['privacy:metadata:block_dockchat_sent:conversationid'] = 'A conversa do Moodle da mensagem.';
$string['privacy:metadata:block_dockchat_sent:messageid'] = 'A mensagem nas mensagens do Moodle.';
$string['privacy:metadata:block_dockchat_sent:state'] = 'Até onde o Moodle chegou na entrega da mensagem (notificações).';
$string['privacy:metadata:block_dockchat_sent:timecreated'] = 'Quando a mensagem foi enviada.';
$string['privacy:metadata:block_dockchat_sent:useridfrom'] = 'O utilizador que enviou a mensagem.';
$string['privacy:metadata:block_dockchat_window'] = 'Que janelas de conversa o utilizador tem abertas ou minimizadas.';
$string['privacy:metadata:block_dockchat_window:peerid'] = 'O outro utilizador da janela de conversa.';
$string['privacy:metadata:block_dockchat_window:state'] = 'Se a janela de conversa está aberta ou minimizada.';
$string['privacy:metadata:block_dockchat_window:timemodified'] = 'Quando a janela de conversa foi aberta ou minimizada pela última vez.';
$string['privacy:metadata:block_dockchat_window:userid'] = 'O utilizador que tem a janela aberta.';
$string['privacy:metadata:core_message'] = 'As mensagens do chat, as conversas e os estados de leitura são guardados no sistema de mensagens do Moodle.';
$string['privacy:metadata:dockchatd'] = 'O serviço do Dock chat (dockchatd) recebe as mensagens do navegador e guarda-as na base de dados deste site.';
$string['privacy:metadata:dockchatd:fullname'] = 'O nome completo do utilizador, mostrado aos colegas de disciplina.';
$string['privacy:metadata:dockchatd:message'] = 'As mensagens que o utilizador envia e recebe.';
$string['privacy:metadata:dockchatd:userid'] = 'O ID do utilizador, para entregar as mensagens.';
$string['privacy:metadata:preference:block_dockchat_desktop'] = 'Se uma notificação no ambiente de trabalho mostra as mensagens novas enquanto a página está em segundo plano.';
$string['privacy:metadata:preference:block_dockchat_sound'] = 'Se um som toca para as mensagens novas.';
$string['privacy:path:sent'] = 'Mensagens enviadas a partir do dock';
$string['privacy:path:windows'] = 'Janelas de conversa';
$string['privacy:window:minimised'] = 'Minimizada';
$string['privacy:window:open'] = 'Aberta';
$string['reconnectnow'] = 'Ligar agora';
$string['regeneratesecret'] = 'Gerar um novo segredo dos tokens';
$string['regeneratesecret_confirm'] = 'Gerar um novo segredo dos tokens? Os tokens assinados com o segredo atual deixam de funcionar de imediato. O dockchatd lê sozinho o novo segredo da base de dados em menos de um minuto; só se copiou o segredo para a configuração dele (token_secret) tem de o substituir aí.';
$string['removefromfavourites'] = 'Retirar estrela da conversa';
$string['restore'] = 'Restaurar';
$string['retry'] = 'Tentar de novo';
$string['role:coursecreator'] = 'Criador de disciplinas';
$string['role:editingteacher'] = 'Professor';
$string['role:frontpage'] = 'Utilizador autenticado na página inicial';
$string['role:guest'] = 'Visitante';
$string['role:manager'] = 'Gestor';
$string['role:student'] = 'Aluno';
$string['role:teacher'] = 'Professor sem permissão de edição';
$string['role:user'] = 'Utilizador autenticado';
$string['searching'] = 'A procurar…';
$string['searchpeople'] = 'Procurar pessoas';
$string['searchresults'] = 'Pessoas encontradas';
$string['secret'] = 'Segredo dos tokens';
$string['secret_desc'] = 'O segredo que assina os tokens de curta duração com que os navegadores entram no dockchatd. Foi gerado quando o bloco foi instalado. O dockchatd lê-o sozinho da base de dados deste site; copie-o para o <code>token_secret</code> do dockchatd apenas se o serviço não puder ler a tabela <code>config_plugins</code>. <a href="{$a}">Gerar um novo segredo</a>.';
$string['secret_invalid'] = 'O segredo tem de ter pelo menos {$a} caracteres, sem espaços.';
$string['secretregenerated'] = 'Foi gerado um novo segredo dos tokens. Indique-o ao dockchatd se ele não o ler da base de dados.';
$string['seen'] = 'Vista';
$string['seenbymany'] = 'Vista por {$a} pessoas';
$string['seenbynames'] = 'Vista por: {$a}';
$string['seenbyone'] = 'Vista por {$a} pessoa';
$string['selfinmoodle'] = 'O seu espaço pessoal abre-se na gaveta de mensagens do Moodle.';
$string['send'] = 'Enviar';
$string['sending'] = 'A enviar…';
$string['sessionended'] = 'A sua sessão terminou. Recarregue a página para voltar a conversar.';
$string['showchatlist'] = 'Mostrar a lista de conversas';
$string['showmore'] = 'Mais';
$string['starred'] = 'Com estrela';
$string['task_process_queue'] = 'Fila do chat acoplado (alternativa ao processo)';
$string['today'] = 'Hoje';
$string['tokenlifetime'] = 'Duração dos tokens';
$string['tokenlifetime_desc'] = 'Durante quanto tempo, em segundos, um token do chat é válido (60 a 3600). O chat renova o token antes de expirar, por isso as alterações às permissões de um utilizador chegam ao serviço de chat dentro deste prazo.';
$string['toolongtosend'] = 'Esta mensagem é demasiado longa para ser enviada. Encurte-a ou envie-a em várias partes.';
$string['typeamessage'] = 'Escreva uma mensagem…';
$string['typing'] = '{$a} está a escrever…';
$string['typingothersmany'] = '{$a->name} e mais {$a->count} pessoas estão a escrever…';
$string['typingothersone'] = '{$a->name} e mais {$a->count} pessoa estão a escrever…';
$string['unblockuser'] = 'Desbloquear utilizador';
$string['unmuteconversation'] = 'Ativar som';
$string['unreadcountmany'] = '{$a} mensagens não lidas';
$string['unreadcountone'] = '{$a} mensagem não lida';
$string['wsurl'] = 'URL do serviço de chat';
$string['wsurl_desc'] = 'O endereço WebSocket público do dockchatd, tal como os navegadores o alcançam (por exemplo wss://moodle.example.edu/dockchat/ws). Deixe em branco para usar {$a}.';
$string['wsurl_invalid'] = 'Introduza um URL WebSocket que comece por wss:// (ou ws:// para testes), ou deixe o campo em branco.';
$string['yesterday'] = 'Ontem';
$string['you'] = 'Você';
$string['youhaveblockeduser'] = 'Bloqueou este utilizador.';
