"""From a solved model to what it means: per-unit results, equity metrics, quarterly
settlement, the sentences and diagnostics a planner reads, and runs of many scenarios.

Results compute, reports lay out: every figure shown anywhere is computed here once.
May import: ``model.lp``, ``model.workbook``, ``model.schema``, ``model.vocabulary``,
``model.errors``.
"""
