<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>lhttp-admin</name>
    <message>
        <source>lhttp-admin: watch and operate an lhttp-qt node, inside the console (--embedded) or attached to a headless lhttpd-qt (--attach).</source>
        <translation>lhttp-admin：监视和操作 lhttp-qt 节点，可在控制台内运行（--embedded），或连接到无界面的 lhttpd-qt（--attach）。</translation>
    </message>
    <message>
        <source>Use this language (zh_CN, en) instead of the system&apos;s.</source>
        <translation>使用此语言（zh_CN、en）而不是系统语言。</translation>
    </message>
    <message>
        <source>Start a node inside the console at once.</source>
        <translation>立即在控制台内启动一个节点。</translation>
    </message>
    <message>
        <source>Port of the embedded node (default: 8081).</source>
        <translation>内置节点的端口（默认：8081）。</translation>
    </message>
    <message>
        <source>Attach at once to this admin endpoint (ws://host:port/admin).</source>
        <translation>立即连接到此管理端点（ws://主机:端口/admin）。</translation>
    </message>
    <message>
        <source>Admin token for --attach (default: the LHTTP_ADMIN_TOKEN environment variable).</source>
        <translation>--attach 使用的管理令牌（默认：环境变量 LHTTP_ADMIN_TOKEN）。</translation>
    </message>
    <message>
        <source>Show this tab: connections, channels or traffic.</source>
        <translation>显示此标签页：connections、channels 或 traffic。</translation>
    </message>
    <message>
        <source>Window size, e.g. 1400x860.</source>
        <translation>窗口大小，例如 1400x860。</translation>
    </message>
    <message>
        <source>Save a picture of the window to this PNG file after --screenshot-delay, then quit.</source>
        <translation>在 --screenshot-delay 之后将窗口截图保存到此 PNG 文件，然后退出。</translation>
    </message>
    <message>
        <source>Milliseconds to wait before --screenshot (default: 5000).</source>
        <translation>--screenshot 之前等待的毫秒数（默认：5000）。</translation>
    </message>
</context>
<context>
    <name>lhttp::ChannelsModel</name>
    <message>
        <source>Channel</source>
        <translation>频道</translation>
    </message>
    <message>
        <source>Subscribers</source>
        <translation>订阅者</translation>
    </message>
    <message>
        <source>Msgs/s</source>
        <translation>消息/秒</translation>
    </message>
    <message>
        <source>Deliveries/s</source>
        <translation>投递/秒</translation>
    </message>
    <message>
        <source>Messages</source>
        <translation>消息数</translation>
    </message>
    <message>
        <source>Presence channel: %1 connections of %2 users, on every node.</source>
        <translation>在线状态频道：所有节点上共 %2 个用户的 %1 个连接。</translation>
    </message>
    <message>
        <source>History channel: keeps the last %1 messages, %2 held on this node.
Newest offset %3 of epoch %4.</source>
        <translation>历史频道：保留最近 %1 条消息，本节点持有 %2 条。
最新偏移量 %3（纪元 %4）。</translation>
    </message>
    <message>
        <source>(none yet)</source>
        <translation>（暂无）</translation>
    </message>
    <message>
        <source>History</source>
        <translation>历史</translation>
    </message>
    <message>
        <source>Held</source>
        <translation>持有</translation>
    </message>
    <message>
        <source>Last offset</source>
        <translation>最新偏移量</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>成员</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>用户</translation>
    </message>
</context>
<context>
    <name>lhttp::ChannelsView</name>
    <message>
        <source>Filter channels</source>
        <translation>筛选频道</translation>
    </message>
    <message>
        <source>Subscribers of %1</source>
        <translation>%1 的订阅者</translation>
    </message>
    <message>
        <source>%1 has no subscribers and no traffic any more. Select a channel to see its subscribers.</source>
        <translation>%1 已没有订阅者和流量。选择一个频道以查看其订阅者。</translation>
    </message>
    <message>
        <source>Select a channel to see its subscribers.</source>
        <translation>选择一个频道以查看其订阅者。</translation>
    </message>
    <message>
        <source>Members of %1 on every node: %2 connections of %3 users (the first %4 listed)</source>
        <translation>%1 在所有节点上的成员：%3 个用户的 %2 个连接（列出前 %4 个）</translation>
    </message>
    <message>
        <source>Members of %1 on every node: %2 connections of %3 users</source>
        <translation>%1 在所有节点上的成员：%3 个用户的 %2 个连接</translation>
    </message>
</context>
<context>
    <name>lhttp::ConnectionsModel</name>
    <message>
        <source>Id</source>
        <translation>编号</translation>
    </message>
    <message>
        <source>Remote address</source>
        <translation>远程地址</translation>
    </message>
    <message>
        <source>Origin</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Connected since</source>
        <translation>连接时间</translation>
    </message>
    <message>
        <source>Channels</source>
        <translation>频道</translation>
    </message>
    <message>
        <source>Msgs in</source>
        <translation>收到消息</translation>
    </message>
    <message>
        <source>Bytes in</source>
        <translation>收到字节</translation>
    </message>
    <message>
        <source>Msgs out</source>
        <translation>发出消息</translation>
    </message>
    <message>
        <source>Bytes out</source>
        <translation>发出字节</translation>
    </message>
</context>
<context>
    <name>lhttp::ConnectionsView</name>
    <message>
        <source>Disconnect</source>
        <translation>断开连接</translation>
    </message>
    <message>
        <source>Filter by id, address, origin or channel</source>
        <translation>按编号、地址、来源或频道筛选</translation>
    </message>
    <message>
        <source>Close the selected connections (Del)</source>
        <translation>关闭所选连接 (Del)</translation>
    </message>
    <message>
        <source>Connections: %1</source>
        <translation>连接：%1</translation>
    </message>
    <message>
        <source>Connections: %1 of %2</source>
        <translation>连接：%1 / %2</translation>
    </message>
</context>
<context>
    <name>lhttp::EmbeddedNode</name>
    <message>
        <source>NATS is not available in this build; leave the NATS URL empty to run with the embedded broker.</source>
        <translation>此版本不支持 NATS；请将 NATS 地址留空，以使用内置代理运行。</translation>
    </message>
    <message>
        <source>Cannot listen on port %1: %2</source>
        <translation>无法监听端口 %1：%2</translation>
    </message>
    <message>
        <source>The node is not running.</source>
        <translation>节点未运行。</translation>
    </message>
    <message>
        <source>published</source>
        <translation>已发布</translation>
    </message>
    <message>
        <source>closed</source>
        <translation>已关闭</translation>
    </message>
</context>
<context>
    <name>lhttp::EmbeddedSource</name>
    <message>
        <source>embedded node on port %1</source>
        <translation>端口 %1 上的内置节点</translation>
    </message>
</context>
<context>
    <name>lhttp::MainWindow</name>
    <message>
        <source>lhttp admin console</source>
        <translation>lhttp 管理控制台</translation>
    </message>
    <message>
        <source>Connections</source>
        <translation>连接</translation>
    </message>
    <message>
        <source>Channels</source>
        <translation>频道</translation>
    </message>
    <message>
        <source>Traffic</source>
        <translation>流量</translation>
    </message>
    <message>
        <source>Node</source>
        <translation>节点</translation>
    </message>
    <message>
        <source>Publish</source>
        <translation>发布</translation>
    </message>
    <message>
        <source>Connections the node closed or refused since it started; the traffic log lists each close (direction &quot;Closes&quot;)</source>
        <translation>节点自启动以来关闭或拒绝的连接；流量日志列出每次关闭（方向“关闭”）</translation>
    </message>
    <message>
        <source>%1 — lhttp admin console</source>
        <translation>%1 — lhttp 管理控制台</translation>
    </message>
    <message>
        <source>No node</source>
        <translation>无节点</translation>
    </message>
    <message>
        <source>Embedded node %1</source>
        <translation>内置节点 %1</translation>
    </message>
    <message>
        <source>Node %1 (%2)</source>
        <translation>节点 %1（%2）</translation>
    </message>
    <message>
        <source>Broker: embedded</source>
        <translation>代理：内置</translation>
    </message>
    <message>
        <source>Broker: NATS connecting</source>
        <translation>代理：NATS 连接中</translation>
    </message>
    <message>
        <source>Broker: NATS connected</source>
        <translation>代理：NATS 已连接</translation>
    </message>
    <message>
        <source>Broker: NATS connected (%1)</source>
        <translation>代理：NATS 已连接（%1）</translation>
    </message>
    <message>
        <source>Broker: NATS reconnecting</source>
        <translation>代理：NATS 重新连接中</translation>
    </message>
    <message>
        <source>Broker: NATS disconnected</source>
        <translation>代理：NATS 已断开</translation>
    </message>
    <message>
        <source>%1 connections · %2 channels · %3 subscriptions · in %4/s · out %5/s</source>
        <translation>%1 个连接 · %2 个频道 · %3 个订阅 · 收 %4/秒 · 发 %5/秒</translation>
    </message>
    <message>
        <source>%1 updates missed (slow link)</source>
        <translation>错过 %1 次更新（链路过慢）</translation>
    </message>
    <message>
        <source>slow consumers closed: %1</source>
        <translation>已关闭的慢消费者：%1</translation>
    </message>
    <message>
        <source>keepalive timeouts: %1</source>
        <translation>心跳超时：%1</translation>
    </message>
    <message>
        <source>idle timeouts: %1</source>
        <translation>空闲超时：%1</translation>
    </message>
    <message>
        <source>rate-limited messages: %1</source>
        <translation>被限速的消息：%1</translation>
    </message>
    <message>
        <source>refused at handshake: %1</source>
        <translation>握手时拒绝：%1</translation>
    </message>
</context>
<context>
    <name>lhttp::NodePanel</name>
    <message>
        <source>Embedded</source>
        <translation>内置</translation>
    </message>
    <message>
        <source>Attach</source>
        <translation>连接节点</translation>
    </message>
    <message>
        <source>This computer only (127.0.0.1)</source>
        <translation>仅本机（127.0.0.1）</translation>
    </message>
    <message>
        <source>All interfaces</source>
        <translation>所有网络接口</translation>
    </message>
    <message>
        <source>0 picks a free port.</source>
        <translation>0 表示自动选择空闲端口。</translation>
    </message>
    <message>
        <source> KiB</source>
        <translation> KiB</translation>
    </message>
    <message>
        <source>Allow * and &gt; subscriptions</source>
        <translation>允许 * 和 &gt; 通配订阅</translation>
    </message>
    <message>
        <source>nats://127.0.0.1:4222 (optional)</source>
        <translation>nats://127.0.0.1:4222（可选）</translation>
    </message>
    <message>
        <source>not available in this build</source>
        <translation>此版本不可用</translation>
    </message>
    <message>
        <source>This build of lhttp-admin has no NATS support.</source>
        <translation>此版本的 lhttp-admin 不支持 NATS。</translation>
    </message>
    <message>
        <source>Listen on:</source>
        <translation>监听地址：</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>端口：</translation>
    </message>
    <message>
        <source>Max message size:</source>
        <translation>最大消息大小：</translation>
    </message>
    <message>
        <source>Channels per connection:</source>
        <translation>每个连接的频道数：</translation>
    </message>
    <message>
        <source>NATS URL:</source>
        <translation>NATS 地址：</translation>
    </message>
    <message>
        <source>The node&apos;s admin endpoint: ws://host:port/admin</source>
        <translation>节点的管理端点：ws://主机:端口/admin</translation>
    </message>
    <message>
        <source>the node&apos;s --admin-token</source>
        <translation>节点的 --admin-token</translation>
    </message>
    <message>
        <source>Admin URL:</source>
        <translation>管理地址：</translation>
    </message>
    <message>
        <source>Token:</source>
        <translation>令牌：</translation>
    </message>
    <message>
        <source>Stop node</source>
        <translation>停止节点</translation>
    </message>
    <message>
        <source>Start node</source>
        <translation>启动节点</translation>
    </message>
    <message>
        <source>Detach</source>
        <translation>断开节点</translation>
    </message>
    <message>
        <source>No node.</source>
        <translation>无节点。</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>启动中…</translation>
    </message>
    <message>
        <source>Attaching to %1…</source>
        <translation>正在连接 %1…</translation>
    </message>
    <message>
        <source>Running: %1.</source>
        <translation>运行中：%1。</translation>
    </message>
    <message>
        <source>Attached to %1.</source>
        <translation>已连接到 %1。</translation>
    </message>
    <message>
        <source>Failed.</source>
        <translation>失败。</translation>
    </message>
    <message>
        <source>Node %1 · lhttp-qt %2 · broker: %3</source>
        <translation>节点 %1 · lhttp-qt %2 · 代理：%3</translation>
    </message>
</context>
<context>
    <name>lhttp::NodeState</name>
    <message>
        <source>detached before the node answered</source>
        <translation>节点应答前已断开</translation>
    </message>
</context>
<context>
    <name>lhttp::PresenceModel</name>
    <message>
        <source>Client</source>
        <translation>客户端</translation>
    </message>
    <message>
        <source>Node</source>
        <translation>节点</translation>
    </message>
    <message>
        <source>User</source>
        <translation>用户</translation>
    </message>
    <message>
        <source>Info</source>
        <translation>信息</translation>
    </message>
</context>
<context>
    <name>lhttp::PublishHistoryModel</name>
    <message>
        <source>sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>成功</translation>
    </message>
    <message>
        <source>%1 %2</source>
        <translation>%1 %2</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Channels</source>
        <translation>频道</translation>
    </message>
    <message>
        <source>Command</source>
        <translation>命令</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>结果</translation>
    </message>
</context>
<context>
    <name>lhttp::PublishPanel</name>
    <message>
        <source>Publish</source>
        <translation>发布</translation>
    </message>
    <message>
        <source>room1 room2</source>
        <translation>room1 room2</translation>
    </message>
    <message>
        <source>Channels to publish to, separated by spaces</source>
        <translation>要发布到的频道，以空格分隔</translation>
    </message>
    <message>
        <source>name:value, one per line</source>
        <translation>名称:值，每行一个</translation>
    </message>
    <message>
        <source>Message body</source>
        <translation>消息正文</translation>
    </message>
    <message>
        <source>Publish the message (Ctrl+Return)</source>
        <translation>发布消息 (Ctrl+Return)</translation>
    </message>
    <message>
        <source>Double-click a message to publish it again</source>
        <translation>双击一条消息以再次发布</translation>
    </message>
    <message>
        <source>Published.</source>
        <translation>已发布。</translation>
    </message>
    <message>
        <source>Not published: %1</source>
        <translation>未发布：%1</translation>
    </message>
    <message>
        <source>Channels:</source>
        <translation>频道：</translation>
    </message>
    <message>
        <source>Command:</source>
        <translation>命令：</translation>
    </message>
    <message>
        <source>Headers:</source>
        <translation>消息头：</translation>
    </message>
    <message>
        <source>Body:</source>
        <translation>正文：</translation>
    </message>
    <message>
        <source>Sent messages:</source>
        <translation>已发送的消息：</translation>
    </message>
    <message>
        <source>Give at least one channel and a command.</source>
        <translation>请至少填写一个频道和一个命令。</translation>
    </message>
    <message>
        <source>Start or attach to a node first.</source>
        <translation>请先启动或连接一个节点。</translation>
    </message>
    <message>
        <source>Sending…</source>
        <translation>发送中…</translation>
    </message>
</context>
<context>
    <name>lhttp::RateChart</name>
    <message>
        <source>now</source>
        <translation>现在</translation>
    </message>
    <message>
        <source>−%1 min</source>
        <translation>−%1 分钟</translation>
    </message>
    <message>
        <source>Messages per second</source>
        <translation>每秒消息数</translation>
    </message>
    <message>
        <source>received %1/s</source>
        <translation>收到 %1/秒</translation>
    </message>
    <message>
        <source>sent %1/s</source>
        <translation>发出 %1/秒</translation>
    </message>
</context>
<context>
    <name>lhttp::RemoteSource</name>
    <message>
        <source>%1 accepted the connection but sent no admin snapshot. Is it an lhttpd-qt started with --admin-token, and is this its admin path?</source>
        <translation>%1 接受了连接，但没有发送管理快照。它是用 --admin-token 启动的 lhttpd-qt 吗？这是它的管理路径吗？</translation>
    </message>
    <message>
        <source>%1 refused the admin token (HTTP 401 Unauthorized). Check the token the node was started with (--admin-token).</source>
        <translation>%1 拒绝了管理令牌（HTTP 401 Unauthorized）。请检查节点启动时使用的令牌（--admin-token）。</translation>
    </message>
    <message>
        <source>%1 has no WebSocket endpoint at this path (HTTP 404).</source>
        <translation>%1 在此路径上没有 WebSocket 端点（HTTP 404）。</translation>
    </message>
    <message>
        <source>%1 refused the connection (HTTP %2).</source>
        <translation>%1 拒绝了连接（HTTP %2）。</translation>
    </message>
    <message>
        <source>Cannot attach to %1: %2</source>
        <translation>无法连接到 %1：%2</translation>
    </message>
    <message>
        <source>%1 has too many admin consoles attached; try again later.</source>
        <translation>%1 已连接的管理控制台过多，请稍后再试。</translation>
    </message>
    <message>
        <source>%1 closed the admin connection: %2</source>
        <translation>%1 关闭了管理连接：%2</translation>
    </message>
    <message>
        <source>%1 closed the admin connection.</source>
        <translation>%1 关闭了管理连接。</translation>
    </message>
    <message>
        <source>Not attached to a node.</source>
        <translation>未连接到节点。</translation>
    </message>
</context>
<context>
    <name>lhttp::TrafficModel</name>
    <message>
        <source>WebSocket close code %1</source>
        <translation>WebSocket 关闭码 %1</translation>
    </message>
    <message>
        <source>Error status %1</source>
        <translation>错误状态 %1</translation>
    </message>
    <message>
        <source>in</source>
        <translation>收</translation>
    </message>
    <message>
        <source>out</source>
        <translation>发</translation>
    </message>
    <message>
        <source>error</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>方向</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>连接</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>频道</translation>
    </message>
    <message>
        <source>Command</source>
        <translation>命令</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <source>Receivers</source>
        <translation>接收者</translation>
    </message>
    <message>
        <source>Body preview</source>
        <translation>正文预览</translation>
    </message>
</context>
<context>
    <name>lhttp::TrafficView</name>
    <message>
        <source>Clear</source>
        <translation>清空</translation>
    </message>
    <message>
        <source>All directions</source>
        <translation>所有方向</translation>
    </message>
    <message>
        <source>In</source>
        <translation>收到</translation>
    </message>
    <message>
        <source>Out</source>
        <translation>发出</translation>
    </message>
    <message>
        <source>Errors</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>Closes</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Closes: connections the node closed (slow consumer, keepalive, idle, limits, administrator) or that closed with an error</source>
        <translation>关闭：被节点关闭（慢消费者、心跳、空闲、限制、管理员）或因错误关闭的连接</translation>
    </message>
    <message>
        <source>Filter by channel, command, body or connection id</source>
        <translation>按频道、命令、正文或连接编号筛选</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Sampled: %1 · not sampled: %2</source>
        <translation>已采样：%1 · 未采样：%2</translation>
    </message>
    <message>
        <source> · missed while paused: %1</source>
        <translation> · 暂停期间错过：%1</translation>
    </message>
</context>
</TS>
