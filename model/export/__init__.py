"""What planners take away: the allocation and comparison workbooks, the JSON results,
their charts and cell styles.

Lays out what ``analysis`` computed and does no arithmetic of its own. May import:
``model.analysis``, ``model.lp`` (level names), ``model.workbook``, ``model.schema``,
``model.vocabulary``, ``model.errors``, ``model.xlsx``.
"""
