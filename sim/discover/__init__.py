"""Scenario discovery and robust policies: where in the sampled space an outcome happens, and
which candidate policy does acceptably well across the plausible parameter sets.

conditions   the outcome-condition grammar (`token_share[volcano]@2026-12 > 0.5`), no eval
cases        a finished sweep's runs, or an ensemble what-if's sets, as inputs and outcomes
methods      PRIM (EMA Workbench), CART and extra-trees feature scores
report       a discovery's outputs: discover.md, boxes.json, tradeoff.png, boxes.png
policies     the policies file as written and validated, and the finished comparison
robust       candidate policies x plausible sets on the sweep runner: regret and satisficing
robust_report  a comparison's outputs: robust.md, robust.csv, values.parquet, robust.png

Nothing here is imported by `import sim` or by the other commands: the analysis libraries
(ema_workbench, scikit-learn) are loaded inside the functions that use them.
"""
