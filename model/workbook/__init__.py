"""The planner's file in: the archive checks, cell coercion, the sheets as declared, the
reader with its plausibility checks, the scenarios and the input template.

Everything a workbook can get wrong is caught here, located by cell, and never reaches
the linear program. May import: ``model.schema``, ``model.errors``, ``model.xlsx``
(nothing downstream: not ``lp``, ``analysis``, ``export``, ``web`` or ``cli``).
"""
