"""One realistic, seeded data set shared by every stand-in.

The same customers appear in several systems (matched by e-mail and phone), many tickets are
in Chinese, and timestamps spread over the last weeks so queues have real ages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SYSTEM_SIZES: dict[str, int] = {"zendesk": 140, "quality": 60, "osticket": 100, "csv": 60}
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
STATUS_WEIGHTS = (12, 30, 14, 6, 22, 16)
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = (20, 50, 22, 8)


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class Agent:
    id: int
    name: str
    email: str


@dataclass(slots=True)
class Entry:
    """One conversation entry. ``author_kind`` is ``customer``, ``agent`` or ``system``."""

    id: int
    author_kind: str
    author_name: str
    author_email: str
    body: str
    public: bool
    created_at: datetime


@dataclass(slots=True)
class SeedTicket:
    id: int
    system: str
    subject: str
    status: str
    priority: str
    customer: Customer
    assignee: Agent | None
    queue: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    entries: list[Entry] = field(default_factory=list)
    qa_score: int | None = None  # quality inspection only


CUSTOMERS_ZH = [
    ("王芳", "wang.fang"),
    ("李娜", "li.na"),
    ("张伟", "zhang.wei"),
    ("刘洋", "liu.yang"),
    ("陈静", "chen.jing"),
    ("杨磊", "yang.lei"),
    ("赵敏", "zhao.min"),
    ("黄勇", "huang.yong"),
    ("周杰", "zhou.jie"),
    ("吴婷", "wu.ting"),
    ("徐明", "xu.ming"),
    ("孙丽", "sun.li"),
    ("马超", "ma.chao"),
    ("朱琳", "zhu.lin"),
    ("胡斌", "hu.bin"),
    ("郭晓", "guo.xiao"),
    ("何倩", "he.qian"),
    ("高翔", "gao.xiang"),
    ("林慧", "lin.hui"),
    ("罗刚", "luo.gang"),
]
CUSTOMERS_EN = [
    ("Emma Schulz", "emma.schulz"),
    ("Liam O'Brien", "liam.obrien"),
    ("Sofia Rossi", "sofia.rossi"),
    ("Noah Kim", "noah.kim"),
    ("Olivia Martin", "olivia.martin"),
    ("Lucas Silva", "lucas.silva"),
    ("Mia Novak", "mia.novak"),
    ("Ethan Wright", "ethan.wright"),
    ("Ava Jensen", "ava.jensen"),
    ("Mateo García", "mateo.garcia"),
    ("Chloé Dubois", "chloe.dubois"),
    ("Yuki Tanaka", "yuki.tanaka"),
]
AGENTS = [
    Agent(9001, "陈晓华", "xiaohua.chen@support.example.com"),
    Agent(9002, "Daniel Weber", "daniel.weber@support.example.com"),
    Agent(9003, "李思远", "siyuan.li@support.example.com"),
    Agent(9004, "Priya Nair", "priya.nair@support.example.com"),
    Agent(9005, "王建国", "jianguo.wang@support.example.com"),
]
QUEUES = {
    "zendesk": ("Billing", "Technical", "Orders"),
    "quality": ("QA Review",),
    "osticket": ("客户服务", "售后支持", "投诉处理"),
    "csv": ("Field Service", "Returns"),
}

TOPICS_ZH = [
    (
        "订单 {n} 申请退款",
        "你好，我的订单 {n} 收到的商品有破损，想申请退款，请尽快处理。谢谢！",
        "您好，非常抱歉给您带来不便。退款申请已经提交，预计3到5个工作日到账。",
        ["退款", "订单"],
    ),
    (
        "发票抬头填写错误",
        "我上周开的发票抬头写错了，公司名称应该是“上海星辰科技有限公司”，能否重新开具？",
        "您好，已为您作废原发票并重新开具，新发票将发送到您的邮箱。",
        ["发票"],
    ),
    (
        "物流一直没有更新",
        "快递单号显示三天没有更新了，订单 {n} 到底什么时候能到？",
        "您好，我们已联系物流公司核实，包裹在中转站滞留，预计明天派送。",
        ["物流"],
    ),
    (
        "账号无法登录",
        "今天早上开始一直提示密码错误，重置密码的短信也收不到。",
        "您好，短信通道刚才出现延迟，现已恢复，请重新获取验证码。",
        ["账号", "登录"],
    ),
    (
        "会员续费扣款两次",
        "这个月的会员费被扣了两次，请核实并退还多扣的款项。",
        "您好，经核实确实重复扣款，多扣的金额已原路退回。",
        ["退款", "会员"],
    ),
    (
        "产品质量投诉",
        "新买的吸尘器用了两天就不转了，要求换货。",
        "您好，已为您安排上门取件并寄出新机，请保持电话畅通。",
        ["投诉", "换货"],
    ),
    (
        "修改收货地址",
        "订单 {n} 还没发货，能不能把收货地址改成北京市朝阳区建国路88号？",
        "您好，地址已修改成功，订单将按新地址发货。",
        ["订单", "地址"],
    ),
    (
        "客服态度问题",
        "昨天电话咨询时客服态度很差，希望你们重视。",
        "您好，非常抱歉，我们已对相关同事进行培训，并为您补偿一张优惠券。",
        ["投诉"],
    ),
]
TOPICS_EN = [
    (
        "Refund for order {n}",
        "Hi, the blender from order {n} arrived cracked. I'd like a refund.",
        "Sorry about that! Your refund has been issued; it will show up in 3-5 business days.",
        ["refund", "order"],
    ),
    (
        "Cannot log in after password reset",
        "I reset my password yesterday and now the app says my account is locked.",
        "I've unlocked your account. Please try again and let me know if it works.",
        ["login", "account"],
    ),
    (
        "Invoice shows the wrong VAT number",
        "Our invoice for November lists an old VAT number.\nCould you reissue it?",
        "Done — the corrected invoice is attached to this ticket.",
        ["invoice", "billing"],
    ),
    (
        "Where is my package?",
        "Tracking for order {n} hasn't moved in four days.",
        "The carrier confirmed a delay at the hub; delivery is expected tomorrow.",
        ["shipping"],
    ),
    (
        "Charged twice for subscription",
        "My card was charged twice for the annual plan this month.",
        "You're right, the duplicate charge has been refunded.",
        ["billing", "refund"],
    ),
    (
        "API returns 502 intermittently",
        "Since this morning about 1 in 20 calls to /v2/orders return a 502.",
        "We found an overloaded gateway node and replaced it; errors should have stopped.",
        ["technical", "api"],
    ),
]
QA_NOTES = [
    "回复及时，语气友好，但未确认客户的订单号。",
    "Resolution correct; missed offering the follow-up survey.",
    "首次响应超过了SLA（4小时），需要改进。",
    "Excellent empathy and a clear next step for the customer.",
    "解决方案正确，但没有使用标准结束语。",
]


def _customers(rng: random.Random) -> list[Customer]:
    people = []
    for index, (name, handle) in enumerate(CUSTOMERS_ZH + CUSTOMERS_EN, start=1):
        domain = "example.cn" if index <= len(CUSTOMERS_ZH) else "example.com"
        phone = (
            f"+86 138{rng.randrange(10**7, 10**8)}"
            if domain == "example.cn"
            else (f"+1 415 555 {rng.randrange(1000, 9999)}")
        )
        people.append(Customer(1000 + index, name, f"{handle}@{domain}", phone))
    return people


def build(seed: int = 42, now: datetime | None = None) -> list[SeedTicket]:
    """The whole data set: ``sum(SYSTEM_SIZES)`` tickets over all systems, deterministic."""
    rng = random.Random(seed)
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    customers = _customers(rng)
    tickets: list[SeedTicket] = []
    entry_id = 500_000
    for system, size in SYSTEM_SIZES.items():
        for number in range(1, size + 1):
            chinese = system == "osticket" or rng.random() < 0.55
            subject_t, body_t, reply_t, tags = rng.choice(TOPICS_ZH if chinese else TOPICS_EN)
            order = rng.randrange(100000, 999999)
            customer = rng.choice(customers[:20] if chinese else customers)
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
            created = moment - timedelta(minutes=rng.randrange(30, 60 * 24 * 30))
            assignee = None if status == "new" or rng.random() < 0.15 else rng.choice(AGENTS)
            ticket = SeedTicket(
                id=number if system != "zendesk" else 35000 + number,
                system=system,
                subject=subject_t.format(n=order),
                status=status,
                priority=rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
                customer=customer,
                assignee=assignee,
                queue=rng.choice(QUEUES[system]),
                tags=list(tags),
                created_at=created,
                updated_at=created,
            )
            at = created
            entry_id += 1
            ticket.entries.append(
                Entry(
                    entry_id,
                    "customer",
                    customer.name,
                    customer.email,
                    body_t.format(n=order),
                    True,
                    at,
                )
            )
            if status != "new":
                agent = assignee or rng.choice(AGENTS)
                for turn in range(rng.randrange(1, 4)):
                    at = min(moment, at + timedelta(minutes=rng.randrange(5, 600)))
                    entry_id += 1
                    if turn % 2 == 0:
                        ticket.entries.append(
                            Entry(entry_id, "agent", agent.name, agent.email, reply_t, True, at)
                        )
                    else:
                        note = (
                            "已核实，等待仓库回复。" if chinese else "Checked with the warehouse."
                        )
                        ticket.entries.append(
                            Entry(entry_id, "agent", agent.name, agent.email, note, False, at)
                        )
            if system == "quality":
                ticket.subject = (
                    f"质检 #{order}: {ticket.subject}"
                    if chinese
                    else (f"QA review #{order}: {ticket.subject}")
                )
                ticket.qa_score = rng.randrange(55, 101)
                at = min(moment, at + timedelta(minutes=rng.randrange(5, 300)))
                entry_id += 1
                reviewer = rng.choice(AGENTS)
                ticket.entries.append(
                    Entry(
                        entry_id,
                        "agent",
                        reviewer.name,
                        reviewer.email,
                        f"{rng.choice(QA_NOTES)} (score {ticket.qa_score})",
                        False,
                        at,
                    )
                )
            ticket.updated_at = at
            tickets.append(ticket)
    return tickets


def by_system(tickets: list[SeedTicket], system: str) -> list[SeedTicket]:
    """The tickets of one system, oldest update first."""
    return sorted((t for t in tickets if t.system == system), key=lambda t: (t.updated_at, t.id))
