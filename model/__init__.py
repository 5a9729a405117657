"""caf: optimizer for China's central pension adjustment fund (中央调剂基金).

The data flows one way: ``inputs`` reads and validates a workbook, ``rule`` computes the
statutory allocation, ``formulation`` and ``solve`` build and solve the lexicographic linear
program, ``results`` turns the solution into an ``Allocation``, and ``report`` writes it.
"""

__version__ = "0.1.0"
