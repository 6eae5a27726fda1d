"""The demo's history: what happened in the demo communities before the install.

The demo's fixed records (places, people, rules, review groups, volunteer teams,
rewards and their stock, commitment templates...) are XML files in demo/, as in
Odoo's own apps. What happened to them is generated here, relative to the day of
the install: about a year of ledger history, claims at every step of the review,
past events and their attendances, redemptions, signed and evaluated commitments,
a deduction notice, boards and the credit index. The methods are called only by
<function> lines of the demo files (credit.demo has no table and no public method).

Every ledger line goes through credit.ledger.line._post, the only way points enter
the ledger, so the demo history obeys the same rules (caps, evidence, deduction
policy) as real grants; claims, events, vouchers and commitments go through their
workflows' methods, as the demo users.
"""

import logging
import math
import random
from collections import defaultdict
from datetime import datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..models.credit_ledger_line import period_start
from ..models.credit_rule import CAP_PERIODS
from ..models.utils import html_text, period_bounds

_logger = logging.getLogger(__name__)

# How often each rhythm of category is recorded (relative weights).
PERIOD_WEIGHTS = {"day": 8.0, "week": 4.0, "month": 2.5, "year": 0.6, "none": 3.0}
# How common a behaviour is, beyond its category's rhythm (unknown behaviours: 1).
BEHAVIOUR_FREQUENCY = {
    "拾金不昧": 0.08,
    "六有家庭": 0.4,
    "评优表彰": 0.4,
    "爱心捐赠": 0.6,
    "乱停乱放": 5.0,
    "损坏公共设施": 1.5,
    "噪音扰民": 1.5,
}
# Share of lines that deduct points, where the community deducts at all.
DEDUCTION_SHARE = 0.06
# Extra liking of some roles for some behaviours (unknown behaviours: neutral).
ROLE_AFFINITY = {
    "volunteer": {"志愿服务": 3.0, "看望独居老人": 2.0, "邻里互助": 1.5},
    "party_member": {"志愿服务": 2.0, "参加居民大会": 2.0, "学法普法": 1.5},
    "building_head": {"调解纠纷": 2.5, "参加居民大会": 2.0, "垃圾分类": 1.5},
    "grid_worker": {"调解纠纷": 2.0, "看望独居老人": 1.5},
    "merchant": {"义务理发": 4.0, "爱心捐赠": 3.0, "志愿服务": 0.5},
    "social_organisation": {"调解纠纷": 4.0, "看望独居老人": 4.0, "志愿服务": 2.0},
    "resident_unit": {"爱心捐赠": 2.0, "参加居民大会": 2.0},
    "party_group": {"志愿服务": 2.0, "登上社区红榜": 1.5},
}
# Reasons as a council clerk would write them; {place} is the estate or grid.
DESCRIPTIONS = {
    "垃圾分类": [
        "在{place}垃圾分类投放点规范分类投放",
        "坚持定时定点分类投放生活垃圾",
        "主动将可回收物分拣后投放",
    ],
    "文明养犬": [
        "遛狗牵绳并及时清理粪便",
        "在{place}文明遛犬，主动清理犬只粪便",
    ],
    "志愿服务": [
        "参加{place}环境卫生整治志愿服务",
        "参加社区疫苗接种点秩序维护志愿服务",
        "参加“文明交通”劝导志愿服务",
        "参加社区图书角整理志愿服务",
        "参加防汛值守志愿服务",
    ],
    "学法普法": [
        "参加社区“民法典进万家”普法讲座",
        "参加道德讲堂活动",
        "参加“身边德法先进”故事会",
    ],
    "拾金不昧": [
        "在{place}拾到钱包一个，已交还失主",
        "拾到手机主动交社区，已归还失主",
    ],
    "六有家庭": [
        "参与“六有家庭”建设，经评议小组认定",
        "家庭通过“六有家庭”评议",
    ],
    "家风家训": [
        "在家中开展家风家训会",
        "参与“好人家训墙”家训征集",
    ],
    "孝老爱亲": [
        "长期悉心照料卧病在床的母亲",
        "陪同老人就医，照料生活起居",
        "孝老爱亲，邻居反映良好",
    ],
    "家庭文明实践": [
        "全家参加社区亲子阅读活动",
        "全家参加社区家庭运动会",
        "全家参加“垃圾分类我先行”家庭行动",
    ],
    "调解纠纷": [
        "调解{place}楼上楼下漏水纠纷，双方达成一致",
        "调解邻里停车位纠纷成功",
        "调解家庭赡养矛盾，达成调解协议",
        "调解装修噪音纠纷成功",
    ],
    "看望独居老人": [
        "上门看望{place}独居老人，了解生活需求",
        "“安心敲门”看望结对独居老人",
        "陪伴独居老人聊天并排查用电安全",
    ],
    "义务理发": [
        "为行动不便老人上门义务理发",
        "为困难群众义务理发1次",
    ],
    "邻里互助": [
        "为生病邻居代购药品和蔬菜",
        "帮邻居照看孩子",
        "搀扶摔倒的老人并送回家",
    ],
    "登上小区红榜": [
        "登上{place}季度红榜",
    ],
    "登上社区红榜": [
        "登上龙海社区“德法红黑榜”红榜",
    ],
    "评优表彰": [
        "获评年度道德模范",
        "获评年度优秀志愿者",
        "获评年度普法达人",
    ],
    "参加居民大会": [
        "参加居民大会",
        "参加居民议事会，讨论{place}加装电梯事项",
        "参加辖区单位公益讲座",
    ],
    "爱心捐赠": [
        "向“道德积分银行”捐赠兑换商品",
        "为困难家庭捐赠米面油",
        "捐赠衣物和学习用品",
    ],
    "乱扔垃圾": [
        "在{place}楼道乱扔垃圾，经劝导后改正",
        "高空抛物，经核实",
    ],
    "不文明养犬": [
        "遛狗未牵绳，经劝导不改",
        "未清理犬只粪便，经核实",
    ],
    "乱停乱放": [
        "车辆占用{place}消防通道",
        "电动车在楼道内停放充电",
    ],
    "噪音扰民": [
        "夜间装修噪音扰民，经邻居投诉核实",
        "深夜高声喧哗，影响邻居休息",
    ],
    "不尽赡养义务": [
        "不尽赡养义务，经评议小组调查核实",
    ],
    "打架斗殴": [
        "因停车纠纷与邻居打架，经派出所处理",
    ],
    "损坏公共设施": [
        "在{place}绿地毁绿种菜",
        "损坏小区健身器材",
    ],
    "议事协商": [
        "参加楼栋协商会",
        "参加居民议事会并提出建议",
    ],
    "最美家庭": [
        "获评年度“最美家庭”",
    ],
}


# The Double Ninth (重阳节, ninth day of the ninth lunar month), the day of respect for
# the elderly, by year; the demo names an event after it only on these days.
DOUBLE_NINTH = {
    day.year: day
    for day in map(
        fields.Date.to_date,
        (
            "2024-10-11",
            "2025-10-29",
            "2026-10-18",
            "2027-10-08",
            "2028-10-26",
            "2029-10-16",
            "2030-10-05",
            "2031-10-24",
            "2032-10-12",
            "2033-10-01",
            "2034-10-20",
            "2035-10-09",
            "2036-10-27",
            "2037-10-17",
            "2038-10-07",
            "2039-10-26",
            "2040-10-14",
        ),
    )
}


def double_ninth_around(day):
    """(the last Double Ninth before `day`, the next one from `day` on); None where the
    table does not reach."""
    days = sorted(DOUBLE_NINTH.values())
    last = [d for d in days if d < day]
    coming = [d for d in days if d >= day]
    return (last[-1] if last else None, coming[0] if coming else None)


class CreditDemo(models.AbstractModel):
    _name = "credit.demo"
    _description = "Community Credit demo data"

    @api.model
    def _generate_ledger_history(
        self, community_xmlid, months=12, seed=42, reversals=3, lines_per_subject=30, batches=4
    ):
        """Post about `months` months of ledger history for the subjects of a community.

        Deterministic for a given seed and day. Lines are posted through
        credit.ledger.line._post in `batches` batches; caps are tracked here so
        that no line is refused. Runs once per community: if its demo lines
        exist already, nothing is posted. Returns the posted lines.
        """
        Line = self.env["credit.ledger.line"].sudo()
        community = self.env.ref(community_xmlid)
        if community._name != "credit.place" or community.place_type != "community":
            raise ValueError(f"{community_xmlid} is not a community")  # a programming error
        tag = community.code or str(community.id)
        prefix = f"demo:{tag}:"
        if Line.search_count([("idempotency_key", "=like", f"{prefix}%")], limit=1):
            return Line.browse()

        rng = random.Random(seed)
        today = fields.Date.context_today(self)
        days = max(1, round(months * 365 / 12))
        start = today - timedelta(days=days)

        subjects = (
            self.env["res.partner"]
            .sudo()
            .search(
                [("credit_community_id", "=", community.id), ("credit_role_ids", "!=", False)],
                order="id",
            )
        )
        rules = (
            self.env["credit.rule"]
            .sudo()
            .search([("community_id", "=", community.id)], order="code, id")
        )
        if not community.allow_deduction:
            rules = rules.filtered(lambda r: r.points > 0)
        if not subjects or not rules:
            return Line.browse()
        awards = rules.filtered(lambda r: r.points > 0)
        deductions = rules - awards

        def rule_weight(rule, partner):
            weight = PERIOD_WEIGHTS.get(rule.category_id.period, 3.0)
            weight *= BEHAVIOUR_FREQUENCY.get(rule.behaviour or "", 1.0)
            weight /= math.sqrt(abs(rule.points)) if rule.points > 0 else abs(rule.points) ** 1.3
            for role in partner.credit_role_ids.mapped("code"):
                weight *= ROLE_AFFINITY.get(role, {}).get(rule.behaviour or "", 1.0)
            return weight

        def applies(rule, partner):
            kind = "organisation" if partner.is_company else "person"
            return rule.subject_type in ("any", kind)

        # how active each subject is, and who collects most deductions
        activity = {}
        for partner in subjects:
            roles = set(partner.credit_role_ids.mapped("code"))
            weight = 0.6 if partner.is_company else rng.uniform(0.4, 1.6)
            weight *= 2.5 if "volunteer" in roles else 1.0
            weight *= 1.8 if "party_member" in roles else 1.0
            weight *= 1.5 if "building_head" in roles else 1.0
            weight *= 1.2 if "grid_worker" in roles else 1.0
            activity[partner] = weight
        # the few who collect most deductions: not among those who set the example
        persons = subjects.filtered(
            lambda p: (
                not p.is_company
                and not (
                    set(p.credit_role_ids.mapped("code"))
                    & {"party_member", "building_head", "grid_worker"}
                )
            )
        )
        careless = rng.sample(list(persons), max(1, len(persons) // 6)) if persons else []

        # who grants: staff looking after the subject's place, else a manager
        granters = self._demo_granters()

        # cap totals already in the ledger (lines posted by other means)
        totals = defaultdict(int)
        Line.flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT partner_id, rule_id, date, SUM(points) FROM credit_ledger_line
             WHERE partner_id = ANY(%s) AND rule_id = ANY(%s) AND date >= %s
          GROUP BY partner_id, rule_id, date
            """,
                subjects.ids,
                rules.ids,
                period_start(start, "year") - timedelta(days=7),
            )
        )
        for partner_id, rule_id, date, total in self.env.cr.fetchall():
            for period in CAP_PERIODS:
                totals[(partner_id, rule_id, period, period_start(date, period))] += total

        def fits(partner, rule, date):
            for period in CAP_PERIODS:
                cap = rule[f"cap_{period}"]
                key = (partner.id, rule.id, period, period_start(date, period))
                if cap and abs(totals[key] + rule.points) > cap:
                    return False
            return True

        target = round(len(subjects) * lines_per_subject * months / 12)
        people, weights = list(activity), list(activity.values())
        planned = []
        attempts = 0
        while len(planned) < target and attempts < target * 6:
            attempts += 1
            # adoption grows over the year: later dates are a little more frequent
            date = start + timedelta(days=min(days, int(days * rng.random() ** 0.8)))
            if deductions and rng.random() < DEDUCTION_SHARE:
                pool = careless if careless and rng.random() < 0.8 else people
                partner = rng.choice(pool)
                candidates = deductions
            else:
                partner = rng.choices(people, weights)[0]
                candidates = awards
            candidates = [r for r in candidates if applies(r, partner) and r._is_valid_on(date)]
            if not candidates:
                continue
            rule = rng.choices(candidates, [rule_weight(r, partner) for r in candidates])[0]
            if not fits(partner, rule, date):
                continue
            for period in CAP_PERIODS:
                totals[(partner.id, rule.id, period, period_start(date, period))] += rule.points
            place = partner.credit_place_id
            place_name = (place.parent_id if place.place_type == "building" else place).name
            template = rng.choice(DESCRIPTIONS.get(rule.behaviour or "", [rule.name]))
            planned.append(
                {
                    "partner": partner,
                    "rule": rule,
                    "date": date,
                    "description": template.format(place=place_name),
                    "granted_by_id": self._demo_pick_granter(granters, partner, rule, rng),
                }
            )

        planned.sort(key=lambda p: (p["date"], p["partner"].id, p["rule"].id))
        size = math.ceil(len(planned) / max(1, batches)) or 1
        lines = Line.browse()
        for offset in range(0, len(planned), size):
            chunk = planned[offset : offset + size]
            attachments = self._demo_evidence(chunk, offset)
            vals_list = []
            for n, item in enumerate(chunk, offset + 1):
                vals = {
                    "partner_id": item["partner"].id,
                    "rule_id": item["rule"].id,
                    "points": item["rule"].points,
                    "date": item["date"],
                    "origin": "manual",
                    "description": item["description"],
                    "idempotency_key": f"{prefix}{n}",
                }
                if item["granted_by_id"]:
                    vals["granted_by_id"] = item["granted_by_id"]
                if n in attachments:
                    vals["attachment_ids"] = [Command.set([attachments[n].id])]
                vals_list.append(vals)
            posted = Line._post(vals_list, check_rights=False)
            for n, line in enumerate(posted, offset + 1):
                if n in attachments:
                    attachments[n].write({"res_id": line.id})
            lines |= posted

        if reversals:
            awarded = lines.filtered(lambda line: line.points > 0).sorted("id")
            to_reverse = Line.browse(sorted(rng.sample(awarded.ids, min(reversals, len(awarded)))))
            managers = granters.filtered(
                lambda u: u.has_group("community_credit.group_credit_manager")
            )
            if managers:  # corrections are the council's: post them in its name
                to_reverse = to_reverse.with_user(managers[0]).sudo()
            lines |= to_reverse._reverse("录入错误，已更正")
        _logger.info(
            "Community credit demo: %s ledger lines posted for %s",
            len(lines),
            community.display_name,
        )
        return lines

    @api.model
    def _demo_granters(self):
        """Internal users who may grant points, with the places they look after."""
        group = self.env.ref("community_credit.group_credit_grid_worker")
        excluded = {self.env.ref("base.user_root").id, self.env.ref("base.user_admin").id}
        users = (
            self.env["res.users"]
            .sudo()
            .search([("groups_id", "in", group.ids), ("share", "=", False)], order="id")
        )
        return users.filtered(lambda u: u.id not in excluded)

    @api.model
    def _demo_pick_granter(self, users, partner, rule, rng):
        place_path = partner.credit_place_id.parent_path or ""
        allowed = users.filtered(  # nobody grants points to themselves
            lambda u: (
                u.partner_id != partner
                and (not rule.granter_group_ids or rule.granter_group_ids & u.groups_id)
            )
        )
        local = allowed.filtered(
            lambda u: any(place_path.startswith(p.parent_path or "/") for p in u.credit_place_ids)
        )
        managers = allowed.filtered(lambda u: u.has_group("community_credit.group_credit_manager"))
        # grid workers and reviewers record what happens in their places;
        # the council grants elsewhere and the rules reserved to it
        pool = (local - managers) or local or managers
        return rng.choice(pool.ids) if pool else False

    @api.model
    def _demo_evidence(self, chunk, offset):
        """A small text attachment for each line whose rule requires evidence."""
        todo = [
            (n, item) for n, item in enumerate(chunk, offset + 1) if item["rule"].evidence_required
        ]
        if not todo:
            return {}
        vals_list = []
        for n, item in todo:
            partner, rule = item["partner"], item["rule"]
            text = (
                f"{rule.display_name}\n"
                f"对象：{partner.name}\n"
                f"日期：{item['date']}\n"
                f"事由：{item['description']}\n"
                f"认定：{partner.credit_place_id.complete_name} 道德积分评议小组\n"
            )
            vals_list.append(
                {
                    "name": f"证明材料-{rule.code}-{item['date']}-{n}.txt",
                    "raw": text.encode(),
                    "mimetype": "text/plain",
                    "res_model": "credit.ledger.line",
                }
            )
        attachments = self.env["ir.attachment"].sudo().create(vals_list)
        return {n: att for (n, _item), att in zip(todo, attachments, strict=True)}

    @api.model
    def _generate_claims(self, community_xmlid, seed=7):
        """Claims at every step of the review workflow for a demo community, driven
        through the workflow methods as the demo users (resident, grid worker,
        reviewer, council); the review groups that certify them are in
        demo/credit_claim_demo.xml. Runs once."""
        community = self.env.ref(community_xmlid)
        Claim = self.env["credit.claim"].sudo()
        if Claim.search_count([("community_id", "=", community.id)], limit=1):
            return Claim
        rng = random.Random(seed)
        today = fields.Date.context_today(self)
        ref = self.env.ref
        council = ref("community_credit.user_council_demo")
        reviewer = ref("community_credit.user_reviewer_demo")
        grid = ref("community_credit.user_gridworker_demo")
        resident = ref("community_credit.user_resident_demo")
        # the review groups, the council's secretary and the rules residents declare
        # themselves are demo/credit_claim_demo.xml's and credit_rule_demo.xml's
        everyday = self.env["credit.rule"].search(
            [
                ("community_id", "=", community.id),
                ("points", ">", 0),
                ("self_declare", "=", True),
            ]
        )
        people = (
            self.env["res.partner"]
            .sudo()
            .search(
                [
                    ("credit_place_id", "child_of", grid.credit_place_ids.ids),
                    ("is_company", "=", False),
                    ("credit_role_ids", "!=", False),
                    ("user_ids", "=", False),
                ],
                order="id",
            )
        )
        descriptions = [
            "在楼栋清理楼道杂物，邻居可作证",
            "帮助独居老人买菜、送药",
            "参加小区环境卫生整治",
            "主动劝导乱停车辆并协助挪车",
            "组织楼栋居民参加垃圾分类宣传",
        ]

        def make(user, partners, rule, day, text):
            claim = Claim.with_user(user).create(
                {
                    "rule_id": rule.id,
                    "date": day,
                    "partner_ids": [Command.set(partners.ids)],
                    "description": text,
                }
            )
            try:
                with self.env.cr.savepoint():
                    claim.with_user(user).action_submit()
            except UserError:
                return Claim  # a cap or a duplicate: the demo moves on
            return claim.sudo()

        submitted = Claim
        # the demo resident declares her own good deeds
        own = resident.partner_id
        for offset in (1, 3):
            submitted |= make(
                resident,
                own,
                everyday[offset % len(everyday)],
                today - timedelta(days=offset),
                descriptions[offset],
            )
        # the grid worker enters claims for residents of her estates, some for many
        for n in range(30):
            size = 1 if n % 5 else rng.randint(3, 8)
            # a group of neighbours: people of one estate
            first = people.browse(rng.choice(people.ids))
            estate = first.credit_place_id.parent_id
            neighbours = people.filtered(lambda p, e=estate: p.credit_place_id.parent_id == e)
            partners = people.browse(rng.sample(neighbours.ids, min(size, len(neighbours))))
            rule = rng.choice(everyday)
            day = today - timedelta(days=rng.randint(1, 40))
            submitted |= make(grid, partners, rule, day, rng.choice(descriptions))
        submitted = submitted.sorted("date")
        # oldest claims went all the way: certified, re-checked, published and posted
        done, published, council_stage = submitted[:12], submitted[12:18], submitted[18:22]
        rejected, sent_back = submitted[22:23], submitted[23:24]
        (done | published | council_stage).with_user(reviewer).action_approve()
        (done | published).with_user(council).action_approve()
        # their publication started two weeks ago and has closed
        done._workflow().write(
            {"publish_date": today - timedelta(days=14), "publish_until": today - timedelta(days=8)}
        )
        self.env["credit.claim"]._cron_close_publications()
        if published:
            neighbour = people.filtered(
                lambda p: (
                    p.credit_place_id.parent_path.startswith(
                        published[0].publication_place_id.parent_path
                    )
                    and p not in published[0].partner_ids
                )
            )[:1]
            if neighbour:  # recorded by the grid worker for an elderly neighbour
                self.env["credit.claim.objection"].with_user(grid).create(
                    {
                        "claim_id": published[0].id,
                        "objector_id": neighbour.id,
                        "reason": "当天楼道并未清理，请评议小组核实。",
                    }
                )
        rejected.with_user(reviewer).action_reject("照片与描述不符，且无人证实。")
        sent_back.with_user(reviewer).action_send_back("请补充活动地点和时间。")
        _logger.info("Community credit demo: %s claims for %s", len(submitted), community.name)
        return submitted

    @api.model
    def _generate_events(
        self, community_xmlid, team_xmlids, event_type_xmlid, venue_xmlid=None, seed=11
    ):
        """Past events of the community's volunteer teams (`team_xmlids`: the
        door-knocking visits to elders, mediation and clean-ups) with their
        attendances (posted through the attendance hook), the last Double Ninth's
        visits to elders on its day, and an upcoming event open for registration, all
        of type `event_type_xmlid` (which sends no e-mail) at `venue_xmlid` (else the
        company's address). The teams and the type are demo/credit_event_demo.xml's.
        Runs once."""
        community = self.env.ref(community_xmlid)
        held = self.env["event.event"].sudo().with_context(active_test=False)
        if held.search_count([("credit_community_id", "=", community.id)], limit=1):
            return self.env["credit.volunteer.team"]
        rng = random.Random(seed)
        teams = self.env["credit.volunteer.team"]
        for xmlid in team_xmlids:
            teams |= self.env.ref(xmlid)
        event_type = self.env.ref(event_type_xmlid)
        rules = self.env["credit.rule"].search([("community_id", "=", community.id)])
        volunteering = event_type.credit_rule_id
        visiting = rules.filtered(lambda r: r.behaviour == "看望独居老人")[:1] or volunteering
        mediation = rules.filtered(lambda r: r.behaviour == "调解纠纷")[:1] or volunteering
        venue = self.env.ref(venue_xmlid) if venue_xmlid else self.env.company.partner_id
        council = self.env.ref("community_credit.user_council_demo", raise_if_not_found=False)
        today = fields.Date.context_today(self)
        # Longhai keeps Beijing time: 01:00 UTC is nine in the morning
        Event = self.env["event.event"].with_context(
            tracking_disable=True, default_date_tz="Asia/Shanghai"
        )

        def hold(name, day, hours, rule, team, **vals):
            start = datetime.combine(day, time(1, 0))
            return Event.create(
                {
                    "name": name,
                    "event_type_id": event_type.id,
                    "date_begin": start,
                    "date_end": start + timedelta(hours=hours),
                    "credit_rule_id": rule.id,
                    "credit_team_id": team.id,
                    "credit_community_id": community.id,
                    "address_id": venue.id,
                    "user_id": (council or self.env.user).id,
                    **vals,
                }
            )

        attended = self.env["event.registration"]

        def attend(event, team):
            nonlocal attended
            members = team.member_ids.browse(
                rng.sample(team.member_ids.ids, max(1, len(team.member_ids) * 2 // 3))
            )
            registrations = self.env["event.registration"].create(
                [{"event_id": event.id, "partner_id": p.id} for p in members]
            )
            for registration in registrations:
                try:
                    with self.env.cr.savepoint():
                        registration.action_set_done()
                        attended |= registration
                except UserError as exc:  # a cap reached: the demo moves on
                    _logger.info("Community credit demo: attendance not counted: %s", exc)

        plans = [
            (teams[0], visiting, "安心敲门：看望独居老人", 2),
            (teams[1], mediation, "楼栋矛盾纠纷调解日", 3),
            (teams[2], volunteering, "小区环境卫生整治", 2.5),
        ]
        for weeks_ago in (10, 7, 4, 2):
            for team, rule, title, hours in plans:
                day = today - timedelta(weeks=weeks_ago, days=rng.randint(0, 4))
                attend(hold(f"{title}（{day:%m月%d日}）", day, hours, rule, team), team)
        # festivals on their day: the last Double Ninth's visits, the next one if it is near
        last, coming = double_ninth_around(today)
        if last and (today - last).days < 365:
            attend(hold(f"{last.year}年重阳节敬老志愿服务", last, 3, visiting, teams[0]), teams[0])
        if coming and 2 <= (coming - today).days <= 30:
            upcoming, title = coming, "重阳节敬老志愿服务"
        else:
            upcoming, title = today + timedelta(days=5), "关爱独居老人志愿服务"
        hold(title, upcoming, 3, visiting, teams[0], seats_max=30, seats_limited=True)
        _logger.info(
            "Community credit demo: %s teams, %s attendances for %s",
            len(teams),
            len(attended),
            community.name,
        )
        return teams

    @api.model
    def _generate_rewards(self, community_xmlid, reward_xmlids):
        """Redemptions of the community's rewards (`reward_xmlids`, with their stock
        and the merchants' pledges in demo/credit_reward_demo.xml) by residents of
        the grid worker's estates, at every step: some vouchers handed over, some
        still to collect. Runs once."""
        community = self.env.ref(community_xmlid)
        ref = self.env.ref
        rewards = self.env["product.template"]
        for xmlid in reward_xmlids:
            rewards |= ref(xmlid)
        issued = self.env["credit.voucher"].sudo()
        if issued.search_count([("product_tmpl_id", "in", rewards.ids)], limit=1):
            return rewards
        grid = ref("community_credit.user_gridworker_demo")
        rich = (
            self.env["credit.balance"]
            .sudo()
            .search(
                [
                    ("place_id", "child_of", grid.credit_place_ids.ids),
                    ("balance", ">=", 20),
                    ("partner_id.user_ids", "=", False),
                ],
                order="balance desc",
                limit=12,
            )
            .partner_id
        )
        Voucher = self.env["credit.voucher"].with_user(grid)
        vouchers = Voucher.browse()
        for n, partner in enumerate(rich):
            reward = rewards[n % len(rewards)]
            try:
                with self.env.cr.savepoint():
                    vouchers |= Voucher._redeem(reward.credit_stock_ids[0].id, partner.id)
            except UserError as exc:
                _logger.info("Community credit demo: redemption skipped: %s", exc)
        for voucher in vouchers.sudo()[: len(vouchers) * 2 // 3]:
            Voucher._honour(voucher.code)
        _logger.info("Community credit demo: %s vouchers for %s", len(vouchers), community.name)
        return rewards

    @api.model
    def _generate_commitments(self, community_xmlid, unsigned_xmlid=None, seed=13):
        """Most subjects of the community sign the commitment offered to their kind
        (demo/credit_commitment_demo.xml: online, at the office or on paper) for the
        current period; quarterly commitments were also signed last quarter, checked
        by the grid worker and evaluated. `unsigned_xmlid` is left with a commitment
        to sign. Runs once."""
        community = self.env.ref(community_xmlid)
        Commitment = self.env["credit.commitment"].sudo().with_context(tracking_disable=True)
        if Commitment.search_count([("community_id", "=", community.id)], limit=1):
            return Commitment
        rng = random.Random(seed)
        unsigned = self.env.ref(unsigned_xmlid) if unsigned_xmlid else self.env["res.partner"]
        staff = self.env.ref("community_credit.user_gridworker_demo", raise_if_not_found=False)
        if staff:
            Commitment = Commitment.with_user(staff).sudo()
        templates = self.env["credit.commitment.template"].search(
            [("community_id", "=", community.id)], order="id"
        )
        subjects = self.env["res.partner"].search(
            [("credit_community_id", "=", community.id), ("credit_role_ids", "!=", False)]
        )
        today = fields.Date.context_today(self)
        last_quarter = period_bounds(today, "quarter")[0] - timedelta(days=1)
        past = Commitment.browse()
        for template in templates:
            for partner in subjects.filtered(lambda p, t=template: t.role_id in p.credit_role_ids):
                if partner == unsigned or rng.random() < 0.15:
                    continue  # not everybody has signed yet
                days = [last_quarter, today] if template.period == "quarter" else [today]
                for day in days:
                    origin = rng.choice(
                        ["office", "paper", "portal" if partner.user_ids else "paper"]
                    )
                    commitment = Commitment.create(
                        {"template_id": template.id, "partner_id": partner.id, "date_from": day}
                    )
                    if day == today:
                        commitment.action_sign(origin=origin)
                        continue
                    signed = commitment.date_from + timedelta(days=rng.randint(0, 20))
                    self._demo_sign_past(commitment, origin, datetime.combine(signed, time(9)))
                    past |= commitment
        # last quarter's checks by the grid worker, then the evaluation
        for line in past.line_ids.filtered(lambda ln: ln.kind == "manual"):
            line.write(
                {
                    "result": "met" if rng.random() < 0.8 else "not_met",
                    "checked_by_id": (staff or self.env.user).id,
                    "checked_on": datetime.combine(line.commitment_id.date_to, time(17)),
                }
            )
        past._evaluate()
        _logger.info(
            "Demo commitments: %s signed, %s evaluated",
            Commitment.search_count([("community_id", "=", community.id)]),
            len(past),
        )
        return past

    @api.model
    def _demo_sign_past(self, commitment, origin, signed_on):
        """Record a signature made last quarter, as action_sign records one.

        action_sign signs for a period not yet over, on the day it is called: a
        signature of a period already past is history, which only the demo writes.
        The commitment was created (unsigned) for that period; its signature, the
        day it was made, the text accepted and its obligations are written here
        through the ORM, as the workflow's system fields (sudo)."""
        commitment = commitment.sudo()
        template = commitment.template_id
        lang = commitment.partner_id.lang or self.env.lang
        # the signer and the way of signing first, while it is unsigned (write()
        # refuses to change them on a signed commitment), then the signature
        commitment.write({"signer_name": commitment.partner_id.name, "sign_origin": origin})
        commitment.write(
            {
                "state": "signed",
                "signed_by_id": commitment.env.uid,
                "signed_on": signed_on,
                "accepted_text": template.with_context(lang=lang).text,
            }
        )
        self.env["credit.commitment.line"].sudo().create(
            [
                {"commitment_id": commitment.id, "obligation_id": obligation.id}
                for obligation in template.obligation_ids
            ]
        )
        commitment.message_subscribe(partner_ids=commitment.partner_id.ids)
        origins = dict(commitment._fields["sign_origin"]._description_selection(self.env))
        commitment._message_log(
            body=html_text(
                self.env._(
                    "Signed by %(signer)s (%(origin)s).",
                    signer=commitment.signer_name,
                    origin=origins[commitment.sign_origin],
                )
            )
        )

    @api.model
    def _generate_notice(self, partner_xmlid, rule_xmlid, granter_xmlid):
        """A deduction of the demo resident three days ago, entered by the grid
        worker: its notice is on her portal, with the days left to appeal."""
        partner = self.env.ref(partner_xmlid)
        rule = self.env.ref(rule_xmlid)
        day = fields.Date.context_today(self) - timedelta(days=3)
        return self.env["credit.ledger.line"]._post(
            [
                {
                    "partner_id": partner.id,
                    "rule_id": rule.id,
                    "date": day,
                    "origin": "manual",
                    "description": "遛狗未牵绳，邻居投诉，网格员现场劝导并拍照",
                    "granted_by_id": self.env.ref(granter_xmlid).id,
                    "idempotency_key": f"demo-notice-{partner.id}",
                }
            ],
            check_rights=False,
        )

    @api.model
    def _generate_boards(self, community_xmlid, city_xmlid):
        """Last month's red board of the community and of each estate (published),
        this year's moral-model nominations (for the council to decide), and the
        credit index of the city's communities for the last six months. Runs once."""
        community = self.env.ref(community_xmlid)
        Board = self.env["credit.board"].with_context(tracking_disable=True)
        if Board.search_count([("community_id", "=", community.id)], limit=1):
            return Board
        today = fields.Date.context_today(self)
        last_month = today.replace(day=1) - timedelta(days=1)
        estates = community.child_ids.filtered(lambda p: p.place_type in ("estate", "grid"))
        boards = Board.create(
            [{"place_id": place.id, "date_from": last_month} for place in community | estates]
        )
        # the council chairs the boards: generated and published in its name
        council = self.env.ref("community_credit.user_council_demo", raise_if_not_found=False)
        if council:
            boards = boards.with_user(council)
        boards.action_generate()
        boards.filtered("line_ids").action_publish()
        honours = Board.create(
            {
                "kind": "honour",
                "title": "道德模范",
                "place_id": community.id,
                "date_from": today,
                "size": 5,
            }
        )
        (honours.with_user(council) if council else honours).action_generate()
        Period = self.env["credit.index.period"].with_context(tracking_disable=True)
        city = self.env.ref(city_xmlid)
        for months_back in range(6, 0, -1):
            day = today.replace(day=1) - relativedelta(months=months_back)
            Period.create(
                {"period": "month", "date_from": day, "city_id": city.id}
            ).action_compute()
        return boards | honours
