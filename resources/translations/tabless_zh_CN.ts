<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AuditViewer</name>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="116"/>
        <source>Audit log</source>
        <translation>审计日志</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="118"/>
        <location filename="../../ui/views/audit_viewer.py" line="138"/>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="119"/>
        <location filename="../../ui/views/audit_viewer.py" line="139"/>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="120"/>
        <location filename="../../ui/views/audit_viewer.py" line="140"/>
        <source>Ticket</source>
        <translation>工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="121"/>
        <location filename="../../ui/views/audit_viewer.py" line="141"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="122"/>
        <source>From</source>
        <translation>起始</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="123"/>
        <source>Until</source>
        <translation>截止</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="133"/>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="134"/>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="137"/>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="142"/>
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="170"/>
        <source>No backend is configured (setting backend_url).</source>
        <translation>未配置后端（设置项 backend_url）。</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="185"/>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="199"/>
        <source>{n} records</source>
        <translation>{n} 条记录</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="203"/>
        <source>Could not load the audit log: {error}</source>
        <translation>无法加载审计日志：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="209"/>
        <source>Export CSV</source>
        <translation>导出 CSV</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="209"/>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
</context>
<context>
    <name>Canned</name>
    <message>
        <location filename="../../ui/canned.py" line="33"/>
        <source>Thanks, looking into it</source>
        <translation>感谢来信，正在处理</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="34"/>
        <source>Hello {{customer.name}},

thank you for your message about ticket #{{ticket.id}}. We are looking into it and will get back to you shortly.</source>
        <translation>{{customer.name}}，您好：

感谢您就工单 #{{ticket.id}} 与我们联系。我们正在处理，稍后会尽快回复您。</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="42"/>
        <source>Refund processed (set pending)</source>
        <translation>退款已处理（设为等待回复）</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="43"/>
        <source>Hello {{customer.name}},

your refund for ticket #{{ticket.id}} has been processed. Please allow 3-5 working days. Let us know if anything is unclear.</source>
        <translation>{{customer.name}}，您好：

工单 #{{ticket.id}} 的退款已经处理，预计 3-5 个工作日到账。如有疑问，请随时告诉我们。</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="51"/>
        <source>Solved, closing</source>
        <translation>已解决，结束</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="52"/>
        <source>Hello {{customer.name}},

we consider ticket #{{ticket.id}} solved. Simply reply if you need anything else.</source>
        <translation>{{customer.name}}，您好：

工单 #{{ticket.id}} 已解决。如还需要帮助，直接回复即可。</translation>
    </message>
</context>
<context>
    <name>CheatSheet</name>
    <message>
        <location filename="../../ui/widgets/commands.py" line="125"/>
        <location filename="../../ui/widgets/commands.py" line="131"/>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/commands.py" line="128"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/commands.py" line="128"/>
        <source>Shortcut</source>
        <translation>快捷键</translation>
    </message>
</context>
<context>
    <name>CommandPalette</name>
    <message>
        <location filename="../../ui/widgets/commands.py" line="55"/>
        <source>Command palette</source>
        <translation>命令面板</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/commands.py" line="58"/>
        <source>Type a command…</source>
        <translation>输入命令…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/commands.py" line="59"/>
        <source>Command</source>
        <translation>命令</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/commands.py" line="61"/>
        <source>Matching commands</source>
        <translation>匹配的命令</translation>
    </message>
</context>
<context>
    <name>ConversationPanel</name>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="192"/>
        <source>Public reply</source>
        <translation>公开回复</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="193"/>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="196"/>
        <source>Canned reply…</source>
        <translation>快捷回复…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="199"/>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="200"/>
        <source>Send (Ctrl+Enter)</source>
        <translation>发送（Ctrl+Enter）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="201"/>
        <source>Set status</source>
        <translation>设置状态</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="202"/>
        <source>Write a reply…</source>
        <translation>撰写回复…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="205"/>
        <source>Reply or note</source>
        <translation>回复或备注</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="206"/>
        <source>Canned replies</source>
        <translation>快捷回复</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="207"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="208"/>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="209"/>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="238"/>
        <source>Select a ticket to see its conversation.</source>
        <translation>选择一个工单以查看其对话。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="264"/>
        <source>This system is read-only: replies are not possible.</source>
        <translation>该系统为只读：无法回复。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="335"/>
        <source>then: {status}</source>
        <translation>随后：{status}</translation>
    </message>
</context>
<context>
    <name>ErrorBanner</name>
    <message>
        <location filename="../../ui/widgets/error_banner.py" line="31"/>
        <source>Details…</source>
        <translation>详情…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/error_banner.py" line="32"/>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/error_banner.py" line="44"/>
        <source>Error details</source>
        <translation>错误详情</translation>
    </message>
</context>
<context>
    <name>InboxModel</name>
    <message>
        <location filename="../../ui/models/inbox.py" line="101"/>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="102"/>
        <source>Subject</source>
        <translation>主题</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="103"/>
        <source>Requester</source>
        <translation>请求人</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="104"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="105"/>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="106"/>
        <source>Updated</source>
        <translation>更新时间</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="107"/>
        <source>Waiting</source>
        <translation>等待时长</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="195"/>
        <source>{n} min</source>
        <translation>{n} 分钟</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="197"/>
        <source>{n} h</source>
        <translation>{n} 小时</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="198"/>
        <source>{n} d</source>
        <translation>{n} 天</translation>
    </message>
</context>
<context>
    <name>Labels</name>
    <message>
        <location filename="../../ui/labels.py" line="16"/>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="17"/>
        <source>Open</source>
        <translation>处理中</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="18"/>
        <source>Pending</source>
        <translation>等待回复</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="19"/>
        <source>On hold</source>
        <translation>已挂起</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="20"/>
        <source>Solved</source>
        <translation>已解决</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="21"/>
        <source>Closed</source>
        <translation>已关闭</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="24"/>
        <source>Low</source>
        <translation>低</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="25"/>
        <source>Normal</source>
        <translation>普通</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="26"/>
        <source>High</source>
        <translation>高</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="27"/>
        <source>Urgent</source>
        <translation>紧急</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="30"/>
        <source>Synced</source>
        <translation>已同步</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="31"/>
        <source>First sync in progress</source>
        <translation>正在首次同步</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="32"/>
        <source>Responding slowly</source>
        <translation>响应缓慢</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="33"/>
        <source>Not synced for a while (stale)</source>
        <translation>已有一段时间未同步（数据陈旧）</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="34"/>
        <source>Unreachable</source>
        <translation>无法连接</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="35"/>
        <source>Credentials rejected</source>
        <translation>凭据被拒绝</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="36"/>
        <source>Sync failed</source>
        <translation>同步失败</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="39"/>
        <source>Reply</source>
        <translation>回复</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="40"/>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="41"/>
        <source>Event</source>
        <translation>事件</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="42"/>
        <source>Sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="43"/>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../ui/views/main_window.py" line="229"/>
        <location filename="../../ui/views/main_window.py" line="289"/>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="230"/>
        <source>This customer&apos;s tickets in every system</source>
        <translation>该客户在所有系统中的工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="231"/>
        <source>Reply</source>
        <translation>回复</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="232"/>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="233"/>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="234"/>
        <source>Set status: Pending</source>
        <translation>设置状态：等待回复</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="235"/>
        <source>Set status: Solved</source>
        <translation>设置状态：已解决</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="236"/>
        <source>Close ticket</source>
        <translation>关闭工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="237"/>
        <source>Next unread ticket</source>
        <translation>下一个未读工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="238"/>
        <source>Next ticket</source>
        <translation>下一个工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="239"/>
        <source>Previous ticket</source>
        <translation>上一个工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="240"/>
        <source>Save this search</source>
        <translation>保存此搜索</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="241"/>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="242"/>
        <source>Show the inbox</source>
        <translation>显示收件箱</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="243"/>
        <source>Show the supervisor view</source>
        <translation>显示主管视图</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="244"/>
        <source>Audit log (supervisors)</source>
        <translation>审计日志（主管）</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="245"/>
        <source>Command palette</source>
        <translation>命令面板</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="246"/>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="247"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="248"/>
        <source>View: My tickets</source>
        <translation>视图：我的工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="249"/>
        <source>View: Unassigned</source>
        <translation>视图：未分配</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="250"/>
        <source>View: All open</source>
        <translation>视图：全部未结</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="251"/>
        <source>View: All tickets</source>
        <translation>视图：全部工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="254"/>
        <source>Canned reply: {title}</source>
        <translation>快捷回复：{title}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="284"/>
        <source>Tabless — all your support systems in one window</source>
        <translation>Tabless — 所有客服系统，一个窗口</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="285"/>
        <source>Inbox</source>
        <translation>收件箱</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="286"/>
        <source>Supervisor</source>
        <translation>主管视图</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="287"/>
        <source>Unified inbox</source>
        <translation>统一收件箱</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="288"/>
        <source>Search every system (Ctrl+F)…</source>
        <translation>在所有系统中搜索（Ctrl+F）…</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="306"/>
        <source>Something went wrong.</source>
        <translation>出现了问题。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="360"/>
        <source>Searching…</source>
        <translation>正在搜索…</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="369"/>
        <source>{texts} matching texts in {tickets} tickets</source>
        <translation>{tickets} 个工单中有 {texts} 处匹配</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="379"/>
        <location filename="../../ui/views/main_window.py" line="380"/>
        <source>The search could not run.</source>
        <translation>搜索无法执行。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="399"/>
        <source>Looking up the customer&apos;s tickets…</source>
        <translation>正在查找该客户的工单…</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="410"/>
        <source>{n} tickets of {who} in every system</source>
        <translation>{who} 在所有系统中的 {n} 个工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="430"/>
        <source>This view has {rows} tickets: choose a system, queue or search to sort it by this column.</source>
        <translation>此视图有 {rows} 个工单：请先选择系统、队列或搜索，再按此列排序。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="534"/>
        <source>Cannot start: {error}</source>
        <translation>无法启动：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="541"/>
        <source>Last synced: {when}</source>
        <translation>上次同步：{when}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="547"/>
        <source>Response time: {ms:.0f} ms</source>
        <translation>响应时间：{ms:.0f} 毫秒</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="550"/>
        <source>Last error: {error}</source>
        <translation>上次错误：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="555"/>
        <source>Could not record the action.</source>
        <translation>无法记录该操作。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="582"/>
        <source>{status}: {n} tickets</source>
        <translation>{status}：{n} 个工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="605"/>
        <source>An action could not be delivered.</source>
        <translation>有一个操作未能送达。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="611"/>
        <source>Audit upload failing</source>
        <translation>审计上传失败</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="614"/>
        <source>Audit: {n} pending</source>
        <translation>审计：{n} 条待上传</translation>
    </message>
</context>
<context>
    <name>QueueStatsModel</name>
    <message>
        <location filename="../../ui/models/queues.py" line="29"/>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/models/queues.py" line="30"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/models/queues.py" line="31"/>
        <source>Tickets</source>
        <translation>工单数</translation>
    </message>
    <message>
        <location filename="../../ui/models/queues.py" line="32"/>
        <source>Unassigned</source>
        <translation>未分配</translation>
    </message>
    <message>
        <location filename="../../ui/models/queues.py" line="33"/>
        <source>Oldest waiting</source>
        <translation>最久等待</translation>
    </message>
</context>
<context>
    <name>SupervisorView</name>
    <message>
        <location filename="../../ui/views/supervisor.py" line="41"/>
        <source>Open across all systems: {active} · unassigned: {unassigned}</source>
        <translation>所有系统未结工单：{active} · 未分配：{unassigned}</translation>
    </message>
</context>
<context>
    <name>ViewsPane</name>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="74"/>
        <source>My tickets</source>
        <translation>我的工单</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="78"/>
        <source>Unassigned</source>
        <translation>未分配</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="80"/>
        <source>All open</source>
        <translation>全部未结</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="81"/>
        <source>All tickets</source>
        <translation>全部工单</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="137"/>
        <source>Systems</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="155"/>
        <source>Saved searches</source>
        <translation>已保存的搜索</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="166"/>
        <source>Views</source>
        <translation>视图</translation>
    </message>
</context>
<context>
    <name>panel</name>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="93"/>
        <source>Reply</source>
        <translation>回复</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="94"/>
        <source>Note</source>
        <translation>备注</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="95"/>
        <source>Status change</source>
        <translation>状态变更</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="98"/>
        <source>sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="99"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="100"/>
        <source>conflict: the ticket changed remotely</source>
        <translation>冲突：工单已在远端被修改</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="109"/>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="109"/>
        <location filename="../../ui/widgets/conversation.py" line="111"/>
        <source>Discard</source>
        <translation>放弃</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="111"/>
        <source>Send anyway</source>
        <translation>仍然发送</translation>
    </message>
</context>
</TS>
