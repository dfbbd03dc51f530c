<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>ConversationPanel</name>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="101"/>
        <source>Public reply</source>
        <translation>公开回复</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="102"/>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="104"/>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="105"/>
        <source>Send (Ctrl+Enter)</source>
        <translation>发送（Ctrl+Enter）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="106"/>
        <source>Set status</source>
        <translation>设置状态</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="107"/>
        <source>Write a reply…</source>
        <translation>撰写回复…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="110"/>
        <source>Reply or note</source>
        <translation>回复或备注</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="111"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="112"/>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="134"/>
        <source>Select a ticket to see its conversation.</source>
        <translation>选择一个工单以查看其对话。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="156"/>
        <source>This system is read-only: replies are not possible.</source>
        <translation>该系统为只读：无法回复。</translation>
    </message>
</context>
<context>
    <name>InboxModel</name>
    <message>
        <location filename="../../ui/models/inbox.py" line="37"/>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="38"/>
        <source>Subject</source>
        <translation>主题</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="39"/>
        <source>Requester</source>
        <translation>请求人</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="40"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="41"/>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="42"/>
        <source>Updated</source>
        <translation>更新时间</translation>
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
        <location filename="../../ui/views/main_window.py" line="108"/>
        <source>Tabless — all your support systems in one window</source>
        <translation>Tabless — 所有客服系统，一个窗口</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="109"/>
        <source>Inbox</source>
        <translation>收件箱</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="110"/>
        <source>Supervisor</source>
        <translation>主管视图</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="111"/>
        <source>Unified inbox</source>
        <translation>统一收件箱</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="179"/>
        <source>Cannot start: {error}</source>
        <translation>无法启动：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="186"/>
        <source>Last synced: {when}</source>
        <translation>上次同步：{when}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="192"/>
        <source>Response time: {ms:.0f} ms</source>
        <translation>响应时间：{ms:.0f} 毫秒</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="195"/>
        <source>Last error: {error}</source>
        <translation>上次错误：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="201"/>
        <source>Could not record the action: {error}</source>
        <translation>无法记录该操作：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="219"/>
        <source>An action could not be delivered.</source>
        <translation>有一个操作未能送达。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="225"/>
        <source>Audit upload failing</source>
        <translation>审计上传失败</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="228"/>
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
</TS>
