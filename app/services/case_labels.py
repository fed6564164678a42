"""Chinese names of a case's clocks and history events, for pages and notifications."""

from __future__ import annotations

# The legal clocks of a case (bpmn/README.md: timer property ``clock``).
CLOCK_LABELS = {"triage": "初步处置时限", "contact": "联系群众时限", "rectify": "整改反馈时限",
                "close": "办结时限"}

# History events (case_event.event) as the timeline names them.
EVENT_LABELS = {
    "case_opened": "工单创建",
    "instance_started": "流程启动",
    "task_opened": "生成任务",
    "task_claimed": "认领任务",
    "task_unclaimed": "退回任务",
    "task_reassigned": "转派任务",
    "task_completed": "办理任务",
    "task_cancelled": "任务取消",
    "appeal_filed": "提出申诉",
    "appeal_decided": "申诉审核",
    "recheck_considered": "复核申请",
    "recheck_decided": "复核决定",
    "case_marked_complex": "申请复杂件",
    "supervisor_decided": "督办裁定",
    "deadline_warned": "时限预警",
    "deadline_missed": "超过期限",
    "case_escalated": "升级督办",
    "timer_fired": "定时事件",
    "deadline_recomputed": "期限重新计算",
    "deadlines_confirmed": "期限已确定",
    "deadlines_marked_provisional": "期限暂定",
    "case_closed": "工单办结",
    "instance_errored": "流程执行出错",
    "case_urged": "督办",
    "comment_added": "添加意见",
    "evidence_attached": "上传证据材料",
}


def clock_label(clock: str | None) -> str:
    return CLOCK_LABELS.get(clock or "", clock or "期限")


def event_label(event: str) -> str:
    return EVENT_LABELS.get(event, event)
