"""Incentive compensation as code: plan files in, payouts to the cent, traceable lines out.

Owns: plan files and their schema (:mod:`plan`), the CSV inputs of a run (:mod:`inputs`:
assignments and manual adjustments), rate tables (:mod:`rates`), the condition language of
SPIFs (:mod:`expressions`), crediting with splits (:mod:`credit`), plan periods with proration
(:mod:`segments`), pay lines (:mod:`lines`), draws (:mod:`draws`), clawbacks (:mod:`clawback`),
the computation of a run (:mod:`engine`), immutable stored runs and the paid ledger
(:mod:`ledger`), prior-period adjustments (:mod:`corrections`), reconciliation checks
(:mod:`checks`), run comparison (:mod:`diff`), payroll files (:mod:`payroll`), payout curves
(:mod:`curve`) and plan costing (:mod:`cost`). Rules and formulas: ``docs/compensation.md``.

May import: spmlib.io, spmlib.core, the analyses (productivity, forecast), config, exceptions.
Imported by: spmlib.reports and the CLI.
"""
