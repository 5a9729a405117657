"""The linear program: the statutory rule, the Pyomo formulation and the lexicographic
drive of HiGHS.

Pure mathematics on validated data: no file is read or written here. May import:
``model.workbook`` (the validated data and the policy parameters), ``model.schema``,
``model.errors``.
"""
