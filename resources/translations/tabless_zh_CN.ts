<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AccountsDialog</name>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="201"/>
        <source>Accounts</source>
        <translation>账户</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="202"/>
        <location filename="../../ui/views/accounts_dialog.py" line="203"/>
        <source>Connected systems</source>
        <translation>已连接的系统</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="204"/>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="205"/>
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="206"/>
        <source>Re-authenticate</source>
        <translation>重新认证</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="207"/>
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="208"/>
        <source>System type</source>
        <translation>系统类型</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="209"/>
        <source>Mapping file *</source>
        <translation>映射文件 *</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="210"/>
        <source>A TOML file describing the system</source>
        <translation>描述该系统的 TOML 文件</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="211"/>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="212"/>
        <source>Name in the window</source>
        <translation>窗口中显示的名称</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="213"/>
        <source>Time zone of its plain times</source>
        <translation>其无时区时间所用的时区</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="215"/>
        <source>For timestamps the system sends without a zone, e.g. Asia/Shanghai</source>
        <translation>用于该系统发送的不带时区的时间戳，例如 Asia/Shanghai</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="217"/>
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="218"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="219"/>
        <source>Enabled after a successful connection test</source>
        <translation>连接测试成功后才可保存</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="220"/>
        <source>Start over</source>
        <translation>重新开始</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="221"/>
        <location filename="../../ui/views/accounts_dialog.py" line="477"/>
        <source>Testing the connection…</source>
        <translation>正在测试连接…</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="229"/>
        <source>These adapters are installed but cannot be used: {list}</source>
        <translation>以下适配器已安装但无法使用：{list}</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="241"/>
        <source>Edit “{title}”</source>
        <translation>编辑“{title}”</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="243"/>
        <source>Re-authenticate “{title}”</source>
        <translation>重新认证“{title}”</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="245"/>
        <source>Connect a system</source>
        <translation>连接一个系统</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="260"/>
        <source>The configuration cannot be read: {reason}</source>
        <translation>无法读取配置：{reason}</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="274"/>
        <source>(set up by IT)</source>
        <translation>（由 IT 部门配置）</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="279"/>
        <source>From your IT department&apos;s site configuration ({path})</source>
        <translation>来自 IT 部门的站点配置（{path}）</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="313"/>
        <source>“{title}” is set up by your IT department: you can re-authenticate it, but only IT can change or remove it.</source>
        <translation>“{title}”由 IT 部门配置：您可以重新认证，但只有 IT 部门可以修改或移除它。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="370"/>
        <source>Choose a mapping file</source>
        <translation>选择映射文件</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="370"/>
        <source>Mapping files (*.toml)</source>
        <translation>映射文件 (*.toml)</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="390"/>
        <source>The mapping file has a mistake: {reason}</source>
        <translation>映射文件有错误：{reason}</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="411"/>
        <source>Changed: test the connection again before saving.</source>
        <translation>内容已更改：保存前请再次测试连接。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="454"/>
        <source>Mapping file</source>
        <translation>映射文件</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="457"/>
        <source>Please fill in: {fields}</source>
        <translation>请填写：{fields}</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="497"/>
        <source>The connection works: {details}</source>
        <translation>连接正常：{details}</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="501"/>
        <source>The connection test failed: {details}</source>
        <translation>连接测试失败：{details}</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="509"/>
        <source>Not saved: {reason}</source>
        <translation>未保存：{reason}</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="529"/>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="539"/>
        <source>New credentials for “{title}” are stored in the keyring.</source>
        <translation>“{title}”的新凭据已存入系统密钥环。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="541"/>
        <source>Updated “{title}”; it syncs with its new settings now.</source>
        <translation>已更新“{title}”，现在按新设置同步。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="543"/>
        <source>Saved “{title}”; Tabless syncs it now.</source>
        <translation>已保存“{title}”，Tabless 现在开始同步。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="600"/>
        <source>Test connection opens the browser to sign in again.</source>
        <translation>点击“测试连接”会打开浏览器重新登录。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="602"/>
        <source>Type the new secrets, then test the connection.</source>
        <translation>请输入新的密码或密钥，然后测试连接。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="605"/>
        <source>Secrets left empty stay as stored.</source>
        <translation>留空的密码或密钥保持原样。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="463"/>
        <source>Sign in in the browser window that opened…</source>
        <translation>请在打开的浏览器窗口中登录…</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="645"/>
        <source>Remove account</source>
        <translation>移除账户</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="647"/>
        <source>Remove “{title}”? Its settings and its passwords or tokens in the system keyring are deleted. Tickets already shown stay in the local cache.</source>
        <translation>移除“{title}”？其设置以及系统密钥环中的密码或令牌都将被删除。已显示的工单仍保留在本地缓存中。</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="654"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../../ui/views/accounts_dialog.py" line="665"/>
        <source>Removed “{title}” and its keyring entries ({keys}).</source>
        <translation>已移除“{title}”及其密钥环条目（{keys}）。</translation>
    </message>
</context>
<context>
    <name>Attachments</name>
    <message>
        <location filename="../../ui/widgets/attachments.py" line="215"/>
        <source>Saved {path}</source>
        <translation>已保存 {path}</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/attachments.py" line="240"/>
        <source>Save as…</source>
        <translation>另存为…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/attachments.py" line="243"/>
        <source>Open</source>
        <translation>处理中</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/attachments.py" line="251"/>
        <location filename="../../ui/widgets/attachments.py" line="280"/>
        <source>This system does not let Tabless download attachments</source>
        <translation>该系统不允许 Tabless 下载附件</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/attachments.py" line="270"/>
        <source>{name} is a program or script. Tabless never opens or runs such files; save it and have it checked if you need it.</source>
        <translation>{name} 是程序或脚本。Tabless 从不打开或运行此类文件；如确有需要，请先保存并交由安全检查。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/attachments.py" line="287"/>
        <source>The attachment is larger than 200 MB.</source>
        <translation>附件大于 200 MB。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/attachments.py" line="294"/>
        <source>Save attachment</source>
        <translation>保存附件</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/attachments.py" line="346"/>
        <source>Could not get {name}: {error}</source>
        <translation>无法获取 {name}：{error}</translation>
    </message>
</context>
<context>
    <name>AuditViewer</name>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="111"/>
        <source>Audit log</source>
        <translation>审计日志</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="113"/>
        <location filename="../../ui/views/audit_viewer.py" line="133"/>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="114"/>
        <location filename="../../ui/views/audit_viewer.py" line="134"/>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="115"/>
        <location filename="../../ui/views/audit_viewer.py" line="135"/>
        <source>Ticket</source>
        <translation>工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="116"/>
        <location filename="../../ui/views/audit_viewer.py" line="136"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="117"/>
        <source>From</source>
        <translation>起始</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="118"/>
        <source>Until</source>
        <translation>截止</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="128"/>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="129"/>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="132"/>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="137"/>
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="165"/>
        <source>No backend is configured (setting backend_url).</source>
        <translation>未配置后端（设置项 backend_url）。</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="211"/>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="225"/>
        <source>{n} records</source>
        <translation>{n} 条记录</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="229"/>
        <source>Could not load the audit log: {error}</source>
        <translation>无法加载审计日志：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="239"/>
        <source>Export CSV</source>
        <translation>导出 CSV</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="239"/>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="263"/>
        <source>Exporting…</source>
        <translation>正在导出…</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="275"/>
        <source>Exported {n} records to {file}</source>
        <translation>已导出 {n} 条记录到 {file}</translation>
    </message>
    <message>
        <location filename="../../ui/views/audit_viewer.py" line="280"/>
        <source>The export failed: {error}</source>
        <translation>导出失败：{error}</translation>
    </message>
</context>
<context>
    <name>Bulk</name>
    <message>
        <location filename="../../ui/bulk.py" line="75"/>
        <source>Close selected ({n})</source>
        <translation>关闭所选（{n}）</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="78"/>
        <source>Set status</source>
        <translation>设置状态</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="84"/>
        <source>Assign to me</source>
        <translation>分配给我</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="97"/>
        <source>None of the selected tickets&apos; systems allows this.</source>
        <translation>所选工单所在的系统都不支持此操作。</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="104"/>
        <source>Set your e-mail address (agent_email) to assign tickets.</source>
        <translation>请先设置您的电子邮件地址（agent_email）才能分配工单。</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="128"/>
        <source>{status}: {n} tickets</source>
        <translation>{status}：{n} 个工单</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="164"/>
        <source>Assign to me: {n} tickets</source>
        <translation>分配给我：{n} 个工单</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="182"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="184"/>
        <source>Bulk action</source>
        <translation>批量操作</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="217"/>
        <source>{label} — {done} of {total}</source>
        <translation>{label} — 已完成 {done}/{total}</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="235"/>
        <source>The bulk action stopped.</source>
        <translation>批量操作已中止。</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="246"/>
        <source>{n} done</source>
        <translation>{n} 个已完成</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="249"/>
        <source>{n} skipped (the system does not allow it)</source>
        <translation>{n} 个已跳过（系统不支持）</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="255"/>
        <source>{n} refused</source>
        <translation>{n} 个被拒绝</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="258"/>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="263"/>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <location filename="../../ui/bulk.py" line="276"/>
        <source>Undo: {n} tickets</source>
        <translation>撤销：{n} 个工单</translation>
    </message>
</context>
<context>
    <name>Canned</name>
    <message>
        <location filename="../../ui/canned.py" line="59"/>
        <source>Thanks, looking into it</source>
        <translation>感谢来信，正在处理</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="60"/>
        <source>Hello {{customer.name}},

thank you for your message about ticket #{{ticket.id}}. We are looking into it and will get back to you shortly.</source>
        <translation>{{customer.name}}，您好：

感谢您就工单 #{{ticket.id}} 与我们联系。我们正在处理，稍后会尽快回复您。</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="70"/>
        <source>Refund processed (set pending)</source>
        <translation>退款已处理（设为等待回复）</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="71"/>
        <source>Hello {{customer.name}},

your refund for ticket #{{ticket.id}} has been processed. Please allow 3-5 working days. Let us know if anything is unclear.</source>
        <translation>{{customer.name}}，您好：

工单 #{{ticket.id}} 的退款已经处理，预计 3-5 个工作日到账。如有疑问，请随时告诉我们。</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="81"/>
        <source>Solved, closing</source>
        <translation>已解决，结束</translation>
    </message>
    <message>
        <location filename="../../ui/canned.py" line="82"/>
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
    <name>ConfigForm</name>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="32"/>
        <source>Nightly CSV export</source>
        <translation>夜间 CSV 导出</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="33"/>
        <source>Export folder (local path or mounted share)</source>
        <translation>导出文件夹（本地路径或已挂载的共享）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="34"/>
        <source>File name pattern</source>
        <translation>文件名模式</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="35"/>
        <source>Delimiter (empty: detect comma, tab or semicolon; &apos;tab&apos; for a tab)</source>
        <translation>分隔符（留空：自动识别逗号、制表符或分号；'tab' 表示制表符）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="39"/>
        <source>Mapping file (no code)</source>
        <translation>映射文件（无需代码）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="40"/>
        <source>Mapping file (TOML) describing the system</source>
        <translation>描述该系统的映射文件（TOML）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="41"/>
        <source>Address of the system (overrides the mapping file&apos;s source.base_url)</source>
        <translation>系统地址（覆盖映射文件中的 source.base_url）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="45"/>
        <source>Freshdesk</source>
        <translation>Freshdesk</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="46"/>
        <source>Freshdesk address (https://&lt;domain&gt;.freshdesk.com)</source>
        <translation>Freshdesk 地址（https://&lt;domain&gt;.freshdesk.com）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="47"/>
        <source>API key (Profile settings → API key)</source>
        <translation>API 密钥（个人资料设置 → API 密钥）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="48"/>
        <source>Tickets per list page</source>
        <translation>每个列表页的工单数</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="49"/>
        <source>Customer portal (osTicket)</source>
        <translation>客户门户（osTicket）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="50"/>
        <source>Portal address, e.g. https://portal.example.cn</source>
        <translation>门户地址，例如 https://portal.example.cn</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="51"/>
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="52"/>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="53"/>
        <source>Tickets per page (1-100)</source>
        <translation>每页工单数（1-100）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="54"/>
        <source>Quality inspection</source>
        <translation>质检</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="55"/>
        <source>Service URL (e.g. https://qa.example.com)</source>
        <translation>服务地址（例如 https://qa.example.com）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="56"/>
        <source>Client id (the JWT issuer)</source>
        <translation>客户端 ID（JWT 签发者）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="57"/>
        <source>Shared signing key (HS256)</source>
        <translation>共享签名密钥（HS256）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="58"/>
        <source>Inspections per page</source>
        <translation>每页质检记录数</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="59"/>
        <source>Token lifetime in seconds (60–300)</source>
        <translation>令牌有效期（秒，60–300）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="60"/>
        <source>Lowest score tagged qa:pass</source>
        <translation>标记为 qa:pass 的最低分</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="61"/>
        <source>Request Tracker</source>
        <translation>Request Tracker</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="62"/>
        <source>RT address (https://rt.example.com)</source>
        <translation>RT 地址（https://rt.example.com）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="63"/>
        <source>RT user the token belongs to</source>
        <translation>令牌所属的 RT 用户</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="64"/>
        <source>RT auth token (RT::Authen::Token)</source>
        <translation>RT 认证令牌（RT::Authen::Token）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="65"/>
        <source>Tickets per search page</source>
        <translation>每个搜索页的工单数</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="66"/>
        <source>Zammad</source>
        <translation>Zammad</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="67"/>
        <source>Zammad address (https://zammad.example.com)</source>
        <translation>Zammad 地址（https://zammad.example.com）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="68"/>
        <source>Access token (Profile → Token Access)</source>
        <translation>访问令牌（个人资料 → 令牌访问）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="69"/>
        <source>Zendesk Support</source>
        <translation>Zendesk Support</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="70"/>
        <source>Zendesk address (https://&lt;subdomain&gt;.zendesk.com)</source>
        <translation>Zendesk 地址（https://&lt;subdomain&gt;.zendesk.com）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="71"/>
        <source>Sign-in: client_credentials, or authorization_code (a person signs in through the browser)</source>
        <translation>登录方式：client_credentials，或 authorization_code（由本人在浏览器中登录）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="75"/>
        <source>OAuth client id</source>
        <translation>OAuth 客户端 ID</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="76"/>
        <source>OAuth client secret</source>
        <translation>OAuth 客户端密钥</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="77"/>
        <source>Tickets per export page</source>
        <translation>每个导出页的工单数</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="78"/>
        <source>Znuny / OTRS</source>
        <translation>Znuny / OTRS</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="79"/>
        <source>Znuny address (https://helpdesk.example.com)</source>
        <translation>Znuny 地址（https://helpdesk.example.com）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="80"/>
        <source>Agent login</source>
        <translation>坐席登录名</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="81"/>
        <source>Agent password</source>
        <translation>坐席密码</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="82"/>
        <source>Web service name</source>
        <translation>Web 服务名称</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="83"/>
        <source>Tickets per pull</source>
        <translation>每次拉取的工单数</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="84"/>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="85"/>
        <source>Access token</source>
        <translation>访问令牌</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="86"/>
        <source>JWT signing key</source>
        <translation>JWT 签名密钥</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="87"/>
        <source>Secret</source>
        <translation>密钥</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="189"/>
        <source>{title} *</source>
        <translation>{title} *</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="193"/>
        <source>Required</source>
        <translation>必填</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="196"/>
        <source>Stored in the keyring — leave empty to keep it</source>
        <translation>已存于密钥环 — 留空则保持不变</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/config_form.py" line="198"/>
        <source>Kept only in the system keyring</source>
        <translation>仅保存在系统密钥环中</translation>
    </message>
</context>
<context>
    <name>ConversationPanel</name>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="227"/>
        <source>Public reply</source>
        <translation>公开回复</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="228"/>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="231"/>
        <source>Canned reply…</source>
        <translation>快捷回复…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="235"/>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="236"/>
        <source>Send (Ctrl+Enter)</source>
        <translation>发送（Ctrl+Enter）</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="237"/>
        <source>Set status</source>
        <translation>设置状态</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="238"/>
        <source>Write a reply…</source>
        <translation>撰写回复…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="241"/>
        <source>Reply or note</source>
        <translation>回复或备注</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="242"/>
        <source>Canned replies</source>
        <translation>快捷回复</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="243"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="244"/>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="245"/>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="277"/>
        <source>Select a ticket to see its conversation.</source>
        <translation>选择一个工单以查看其对话。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="298"/>
        <source>This system is read-only: replies are not possible.</source>
        <translation>该系统为只读：无法回复。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="417"/>
        <source>tags: {tags}</source>
        <translation>标签：{tags}</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="419"/>
        <source>assign to me</source>
        <translation>分配给我</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="421"/>
        <source>then: {status}</source>
        <translation>随后：{status}</translation>
    </message>
</context>
<context>
    <name>CustomerPanel</name>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="130"/>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="130"/>
        <source>Subject</source>
        <translation>主题</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="130"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="130"/>
        <location filename="../../ui/widgets/customer_panel.py" line="133"/>
        <source>Updated</source>
        <translation>更新时间</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="133"/>
        <source>Score</source>
        <translation>评分</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="133"/>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="133"/>
        <source>Inspected ticket</source>
        <translation>被质检工单</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="135"/>
        <source>Show phone</source>
        <translation>显示电话</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="136"/>
        <source>Show the customer&apos;s phone number</source>
        <translation>显示客户的电话号码</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="137"/>
        <source>Link another e-mail or phone…</source>
        <translation>关联其他邮箱或电话…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="138"/>
        <source>E-mail or phone to link to this customer</source>
        <translation>要关联到此客户的邮箱或电话</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="139"/>
        <source>Link</source>
        <translation>关联</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="140"/>
        <source>Unlink</source>
        <translation>取消关联</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="142"/>
        <source>The selected identity is someone else: stop matching it to this customer</source>
        <translation>所选身份属于他人：不再将其匹配到此客户</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="144"/>
        <source>The customer&apos;s tickets in every system</source>
        <translation>该客户在所有系统中的工单</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="145"/>
        <source>How this customer is recognised</source>
        <translation>识别此客户的依据</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="146"/>
        <source>Select a ticket to see its customer across every system.</source>
        <translation>选择一个工单，查看其客户在所有系统中的信息。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="151"/>
        <source>this ticket</source>
        <translation>本工单</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="152"/>
        <source>matched</source>
        <translation>自动匹配</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="153"/>
        <source>linked by an agent</source>
        <translation>坐席手动关联</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="204"/>
        <source>Unknown customer</source>
        <translation>未知客户</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="208"/>
        <source>{n} tickets in {systems} systems</source>
        <translation>{n} 个工单，分布在 {systems} 个系统</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="227"/>
        <source>Quality inspections: {n}</source>
        <translation>质检结果：{n}</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="230"/>
        <source>passed</source>
        <translation>通过</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="230"/>
        <source>did not pass</source>
        <translation>未通过</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/customer_panel.py" line="243"/>
        <source>Recognised by</source>
        <translation>识别依据</translation>
    </message>
</context>
<context>
    <name>CustomerView</name>
    <message>
        <location filename="../../ui/customer_view.py" line="74"/>
        <source>The customer could not be looked up: {error}</source>
        <translation>无法查询该客户：{error}</translation>
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
        <location filename="../../ui/models/inbox.py" line="148"/>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="149"/>
        <source>Subject</source>
        <translation>主题</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="150"/>
        <source>Requester</source>
        <translation>请求人</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="151"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="152"/>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="153"/>
        <source>Updated</source>
        <translation>更新时间</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="263"/>
        <source>overdue {time}</source>
        <translation>已超时 {time}</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="264"/>
        <source>due in {time}</source>
        <translation>{time}后到期</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="248"/>
        <source>{n} min</source>
        <translation>{n} 分钟</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="154"/>
        <source>SLA</source>
        <translation>SLA</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="176"/>
        <source>Time left until the system&apos;s SLA is due (red: overdue); for tickets without one, how long the customer has been waiting</source>
        <translation>距离系统 SLA 到期的剩余时间（红色：已超时）；没有 SLA 的工单显示客户已等待的时间</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="250"/>
        <source>{n} h</source>
        <translation>{n} 小时</translation>
    </message>
    <message>
        <location filename="../../ui/models/inbox.py" line="251"/>
        <source>{n} d</source>
        <translation>{n} 天</translation>
    </message>
</context>
<context>
    <name>Labels</name>
    <message>
        <location filename="../../ui/labels.py" line="20"/>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="21"/>
        <source>Open</source>
        <translation>处理中</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="22"/>
        <source>Pending</source>
        <translation>等待回复</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="23"/>
        <source>On hold</source>
        <translation>已挂起</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="24"/>
        <source>Solved</source>
        <translation>已解决</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="25"/>
        <source>Closed</source>
        <translation>已关闭</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="28"/>
        <source>Low</source>
        <translation>低</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="29"/>
        <source>Normal</source>
        <translation>普通</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="30"/>
        <source>High</source>
        <translation>高</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="31"/>
        <source>Urgent</source>
        <translation>紧急</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="34"/>
        <source>Synced</source>
        <translation>已同步</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="35"/>
        <source>First sync in progress</source>
        <translation>正在首次同步</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="36"/>
        <source>Responding slowly</source>
        <translation>响应缓慢</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="37"/>
        <source>Not synced for a while (stale)</source>
        <translation>已有一段时间未同步（数据陈旧）</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="38"/>
        <source>Unreachable</source>
        <translation>无法连接</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="39"/>
        <source>Credentials rejected</source>
        <translation>凭据被拒绝</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="40"/>
        <source>Sync failed</source>
        <translation>同步失败</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="43"/>
        <source>Reply</source>
        <translation>回复</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="44"/>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="45"/>
        <source>Event</source>
        <translation>事件</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="46"/>
        <source>Sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <location filename="../../ui/labels.py" line="47"/>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../ui/views/main_window.py" line="215"/>
        <source>Opening your systems…</source>
        <translation>正在打开您的系统…</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="389"/>
        <location filename="../../ui/views/main_window.py" line="482"/>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="390"/>
        <source>This customer&apos;s tickets in every system</source>
        <translation>该客户在所有系统中的工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="391"/>
        <source>Reply</source>
        <translation>回复</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="392"/>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="393"/>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="394"/>
        <source>Set status: Pending</source>
        <translation>设置状态：等待回复</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="395"/>
        <source>Set status: Solved</source>
        <translation>设置状态：已解决</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="396"/>
        <source>Close ticket</source>
        <translation>关闭工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="397"/>
        <source>Next unread ticket</source>
        <translation>下一个未读工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="398"/>
        <source>Next ticket</source>
        <translation>下一个工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="399"/>
        <source>Previous ticket</source>
        <translation>上一个工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="400"/>
        <source>Save this search</source>
        <translation>保存此搜索</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="401"/>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="402"/>
        <source>Show the inbox</source>
        <translation>显示收件箱</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="403"/>
        <source>Show the supervisor view</source>
        <translation>显示主管视图</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="404"/>
        <source>Audit log (supervisors)</source>
        <translation>审计日志（主管）</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="405"/>
        <source>Accounts: connect a system…</source>
        <translation>账户：连接系统…</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="406"/>
        <source>Command palette</source>
        <translation>命令面板</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="407"/>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="408"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="409"/>
        <source>View: My tickets</source>
        <translation>视图：我的工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="410"/>
        <source>View: Unassigned</source>
        <translation>视图：未分配</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="411"/>
        <source>View: All open</source>
        <translation>视图：全部未结</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="412"/>
        <source>View: All tickets</source>
        <translation>视图：全部工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="415"/>
        <source>Canned reply: {title}</source>
        <translation>快捷回复：{title}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="477"/>
        <source>Tabless — all your support systems in one window</source>
        <translation>Tabless — 所有客服系统，一个窗口</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="478"/>
        <source>Inbox</source>
        <translation>收件箱</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="479"/>
        <source>Supervisor</source>
        <translation>主管视图</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="480"/>
        <source>Unified inbox</source>
        <translation>统一收件箱</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="481"/>
        <source>Search every system (Ctrl+F)…</source>
        <translation>在所有系统中搜索（Ctrl+F）…</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="491"/>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="492"/>
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="506"/>
        <source>Something went wrong.</source>
        <translation>出现了问题。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="589"/>
        <location filename="../../ui/views/main_window.py" line="606"/>
        <source>Searching…</source>
        <translation>正在搜索…</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="615"/>
        <source>{texts} matching texts in {tickets} tickets</source>
        <translation>{tickets} 个工单中有 {texts} 处匹配</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="625"/>
        <location filename="../../ui/views/main_window.py" line="626"/>
        <source>The search could not run.</source>
        <translation>搜索无法执行。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="665"/>
        <source>Looking up the customer&apos;s tickets…</source>
        <translation>正在查找该客户的工单…</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="676"/>
        <source>{n} tickets of {who} in every system</source>
        <translation>{who} 在所有系统中的 {n} 个工单</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="699"/>
        <source>This view has {rows} tickets: choose a system, queue or search to sort it by this column.</source>
        <translation>此视图有 {rows} 个工单：请先选择系统、队列或搜索，再按此列排序。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="762"/>
        <source>The inbox could not be refreshed.</source>
        <translation>无法刷新收件箱。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="895"/>
        <source>Cannot start: {error}</source>
        <translation>无法启动：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="902"/>
        <source>Last synced: {when}</source>
        <translation>上次同步：{when}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="908"/>
        <source>Response time: {ms:.0f} ms</source>
        <translation>响应时间：{ms:.0f} 毫秒</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="911"/>
        <source>Last error: {error}</source>
        <translation>上次错误：{error}</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="916"/>
        <source>Could not record the action.</source>
        <translation>无法记录该操作。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="989"/>
        <source>An action could not be delivered.</source>
        <translation>有一个操作未能送达。</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="995"/>
        <source>Audit upload failing</source>
        <translation>审计上传失败</translation>
    </message>
    <message>
        <location filename="../../ui/views/main_window.py" line="998"/>
        <source>Audit: {n} pending</source>
        <translation>审计：{n} 条待上传</translation>
    </message>
</context>
<context>
    <name>OutgoingFiles</name>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="65"/>
        <source>Attach files…</source>
        <translation>添加附件…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="66"/>
        <source>Attach files to this reply</source>
        <translation>为此回复添加附件</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="67"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="68"/>
        <source>Remove the selected attachment</source>
        <translation>移除所选附件</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="69"/>
        <source>Files attached to this reply</source>
        <translation>此回复的附件</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="83"/>
        <source>At most {n} files per reply.</source>
        <translation>每条回复最多 {n} 个文件。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="88"/>
        <source>{name}: the file cannot be read.</source>
        <translation>{name}：无法读取该文件。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="92"/>
        <source>{name} is {size}; at most {limit} per file.</source>
        <translation>{name} 大小为 {size}；每个文件最多 {limit}。</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/outgoing_files.py" line="115"/>
        <source>Attach files</source>
        <translation>添加附件</translation>
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
    <name>StepUp</name>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="131"/>
        <source>Confirm with your second factor</source>
        <translation>使用第二重验证确认</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="49"/>
        <source>Closing {n} tickets at once needs your second factor. Enter the 6-digit code from your authenticator app.</source>
        <translation>一次关闭 {n} 个工单需要第二重验证。请输入身份验证器应用中的 6 位验证码。</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="43"/>
        <source>Exporting {n} audit records (customer data) needs your second factor. Enter the 6-digit code from your authenticator app.</source>
        <translation>导出 {n} 条审计记录（客户数据）需要您的第二重验证。请输入身份验证器应用中的 6 位验证码。</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="61"/>
        <source>Exporting customer data needs a second factor, and this workstation cannot check one (no step-up service is configured).</source>
        <translation>导出客户数据需要第二重验证，而此工作站无法进行验证（未配置二次验证服务）。</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="66"/>
        <source>The export needs a second factor.</source>
        <translation>导出需要第二重验证。</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="137"/>
        <source>Authenticator code</source>
        <translation>身份验证码</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="157"/>
        <source>The code has 6 digits.</source>
        <translation>验证码为 6 位数字。</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="160"/>
        <source>Checking…</source>
        <translation>正在验证…</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="170"/>
        <source>Not accepted: {reason}</source>
        <translation>未通过：{reason}</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="69"/>
        <source>Closing several tickets at once needs a second factor, and this workstation cannot check one (no step-up service is configured).</source>
        <translation>一次关闭多个工单需要第二重验证，但本工作站无法进行验证（未配置二次验证服务）。</translation>
    </message>
    <message>
        <location filename="../../ui/stepup_prompt.py" line="74"/>
        <source>Bulk close needs a second factor.</source>
        <translation>批量关闭需要第二重验证。</translation>
    </message>
</context>
<context>
    <name>SupervisorView</name>
    <message>
        <location filename="../../ui/views/supervisor.py" line="89"/>
        <source>Open across all systems: {active} · unassigned: {unassigned}</source>
        <translation>所有系统未结工单：{active} · 未分配：{unassigned}</translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <location filename="../../ui/tray.py" line="86"/>
        <source>{n} newly assigned</source>
        <translation>{n} 个新分配</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="87"/>
        <source>{n} customer replies</source>
        <translation>{n} 条客户回复</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="88"/>
        <source>{n} SLAs about to breach</source>
        <translation>{n} 个 SLA 即将超时</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="91"/>
        <source>Tabless: several updates</source>
        <translation>Tabless：多项更新</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="93"/>
        <source>Assigned to you</source>
        <translation>已分配给您</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="93"/>
        <source>{subject} — {who}</source>
        <translation>{subject} — {who}</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="97"/>
        <source>{who} replied</source>
        <translation>{who} 已回复</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="101"/>
        <source>SLA due at {when}</source>
        <translation>SLA 截止于 {when}</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="238"/>
        <source>Show or hide the window</source>
        <translation>显示或隐藏窗口</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="239"/>
        <source>Do not disturb</source>
        <translation>勿扰模式</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="240"/>
        <source>Quit Tabless</source>
        <translation>退出 Tabless</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="242"/>
        <source>Tabless — do not disturb</source>
        <translation>Tabless — 勿扰模式</translation>
    </message>
    <message>
        <location filename="../../ui/tray.py" line="342"/>
        <source>Do not disturb could not be saved: {error}</source>
        <translation>无法保存勿扰设置：{error}</translation>
    </message>
</context>
<context>
    <name>ViewsPane</name>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="79"/>
        <source>My tickets</source>
        <translation>我的工单</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="83"/>
        <source>Unassigned</source>
        <translation>未分配</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="85"/>
        <source>All open</source>
        <translation>全部未结</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="86"/>
        <source>All tickets</source>
        <translation>全部工单</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="153"/>
        <source>Systems</source>
        <translation>系统</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="171"/>
        <source>Saved searches</source>
        <translation>已保存的搜索</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/views_pane.py" line="182"/>
        <source>Views</source>
        <translation>视图</translation>
    </message>
</context>
<context>
    <name>panel</name>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="113"/>
        <source>Reply</source>
        <translation>回复</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="114"/>
        <source>Note</source>
        <translation>备注</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="115"/>
        <source>Status change</source>
        <translation>状态变更</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="118"/>
        <source>sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="119"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="120"/>
        <source>conflict: the ticket changed remotely</source>
        <translation>冲突：工单已在远端被修改</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="129"/>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="129"/>
        <location filename="../../ui/widgets/conversation.py" line="131"/>
        <source>Discard</source>
        <translation>放弃</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/conversation.py" line="131"/>
        <source>Send anyway</source>
        <translation>仍然发送</translation>
    </message>
</context>
</TS>
