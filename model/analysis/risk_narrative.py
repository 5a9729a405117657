"""A ``RiskResult`` in words: the summary sentences, ``(Chinese, English)`` pairs, and the
few figures a reader looks for first (the odds and the likeliest year of the national
balance running out, the unit most often short, the failed draws).

Every surface that shows the plan under uncertainty can print the same sentences; the
workbook only lays them out.
"""

from __future__ import annotations

import math

from model.analysis.narrative import Line, yi
from model.analysis.risk import RiskResult, ScenarioRisk


def probability_text(probability: float) -> str:
    """``62.5%``, ``5%``: a probability to one decimal of a percent, trailing zeros dropped."""
    return f"{probability * 100:.1f}".rstrip("0").rstrip(".") + "%"


def national_runs_out(risk: ScenarioRisk) -> float:
    """The probability that the national balance, with no extra subsidy, runs out within
    the horizon (NaN when no draw solved)."""
    never = risk.national_depletion.to_dict().get(None, math.nan)
    return 1.0 - float(never)


def likeliest_depletion_year(risk: ScenarioRisk) -> tuple[int, float] | None:
    """The year within the horizon in which the national balance most often runs out, and
    its probability; None when it never does."""
    shares = {y: p for y, p in risk.national_depletion.to_dict().items() if y is not None}
    if not risk.solved or not any(p > 0 for p in shares.values()):
        return None
    year = max(shares, key=lambda y: (shares[y], -y))
    return int(year), float(shares[year])


def riskiest_unit(risk: ScenarioRisk) -> tuple[str, str, float] | None:
    """The unit most often left with an unfunded gap: code, Chinese name, probability; the
    first in code order on a tie; None when no unit ever has one."""
    shares = risk.unit_gap_probability
    if not risk.solved or not (shares > 0).any():
        return None
    code = str(shares.idxmax())
    return code, risk.names[risk.codes.index(code)], float(shares[code])


def scenario_sentence(risk: ScenarioRisk) -> Line:
    """One scenario's odds: a gap anywhere, the subsidy's spread, the national balance."""
    name = risk.scenario
    if not risk.solved:
        return (
            f"在「{name}」情景下，{risk.draws} 次抽样无一求解，无法给出概率。",
            f"Under “{name}”, none of the {risk.draws} draws solved, so there are no odds.",
        )
    gap = risk.gap_probability
    if gap > 0:
        zh = f"在「{name}」情景下，{probability_text(gap)} 的抽样中至少一个单位出现未弥补缺口"
        en = (
            f"Under “{name}”, {probability_text(gap)} of the draws leave at least one unit "
            "with an unfunded gap"
        )
        unit = riskiest_unit(risk)
        if unit is not None:
            code, zh_name, share = unit
            zh += f"，最常出现缺口的是{zh_name}（{probability_text(share)}）"
            en += f", most often {zh_name} ({code}, {probability_text(share)})"
    else:
        zh = f"在「{name}」情景下，没有一次抽样出现未弥补缺口"
        en = f"Under “{name}”, no draw leaves any unit with an unfunded gap"
    money = risk.money.loc["total_subsidy_100m"]
    zh += (
        f"；规划期追加财政补助合计的中位数为 {yi(money['p50'])}，"
        f"5%–95% 分位为 {yi(money['p5'])}–{yi(money['p95'])}"
    )
    en += (
        f"; the horizon's total extra subsidy has a median of {yi(money['p50'])}, "
        f"{yi(money['p5'])}–{yi(money['p95'])} from the 5th to the 95th percentile"
    )
    runs_out, year = national_runs_out(risk), likeliest_depletion_year(risk)
    if year is None:
        zh += "；不增加补助时，全国结余在所有抽样中都能维持到规划期末"
        en += "; with no extra subsidy the national balance lasts the horizon in every draw"
    else:
        zh += (
            f"；不增加补助时，全国结余在 {probability_text(runs_out)} 的抽样中于规划期内耗尽，"
            f"最可能在 {year[0]} 年（{probability_text(year[1])}）"
        )
        en += (
            f"; with no extra subsidy the national balance runs out within the horizon in "
            f"{probability_text(runs_out)} of the draws, most likely in {year[0]} "
            f"({probability_text(year[1])})"
        )
    return zh + "。", en + "."


def ranking_sentence(result: RiskResult) -> Line | None:
    """The robust ranking in one line, when there is more than one scenario to rank."""
    ranking = result.ranking()
    if len(ranking) < 2:
        return None

    def p95(risk: ScenarioRisk) -> str:
        return "—" if math.isnan(risk.subsidy_p95) else yi(risk.subsidy_p95)

    zh = "；".join(f"{i}. {s.scenario}（{p95(s)}）" for i, s in enumerate(ranking, start=1))
    en = "; ".join(f"{i}. {s.scenario} ({p95(s)})" for i, s in enumerate(ranking, start=1))
    return (
        "稳健排序（追加补助合计的第 95 百分位数从低到高，相同时缺口概率低者在前）：" + zh + "。",
        "Robust ranking (the lowest 95th percentile of the total extra subsidy first, then the "
        "lowest probability of a gap): " + en + ".",
    )


def failed_line(result: RiskResult) -> Line | None:
    """The warning when some draws did not solve: how many, in which scenarios."""
    failed = result.failed_draws
    if not failed:
        return None
    counts = [(s.scenario, len(s.failed)) for s in result.scenarios if s.failed]
    zh = "，".join(f"「{name}」{count} 次" for name, count in counts)
    en = ", ".join(f"{count} of “{name}”" for name, count in counts)
    return (
        f"有 {failed} 次抽样未能求解（{zh}）：概率与分位数只按已求解的抽样计算，"
        "每次失败的原因见 run_info 表。",
        f"{failed} draw{'s' if failed != 1 else ''} did not solve ({en}): the probabilities "
        "and percentiles count only the draws that solved; each failure's reason is on the "
        "run_info sheet.",
    )


def risk_sentences(result: RiskResult) -> list[Line]:
    """The summary's sentences: one per scenario, in the run's order, then the ranking."""
    lines = [scenario_sentence(s) for s in result.scenarios]
    ranking = ranking_sentence(result)
    return lines + ([ranking] if ranking else [])
