"""Charts: each ``plot_*`` takes the output of a compute function and ``ax=None``, returns the Axes.

No statistics and no saving here; saving belongs to the report renderers.
"""

from spmlib.reports.plotting.comp import *  # noqa: F403
from spmlib.reports.plotting.comp import __all__ as _comp_all
from spmlib.reports.plotting.forecast import *  # noqa: F403
from spmlib.reports.plotting.forecast import __all__ as _forecast_all
from spmlib.reports.plotting.funnel import *  # noqa: F403
from spmlib.reports.plotting.funnel import __all__ as _funnel_all
from spmlib.reports.plotting.overview import *  # noqa: F403
from spmlib.reports.plotting.overview import __all__ as _overview_all
from spmlib.reports.plotting.planning import *  # noqa: F403
from spmlib.reports.plotting.planning import __all__ as _planning_all
from spmlib.reports.plotting.productivity import *  # noqa: F403
from spmlib.reports.plotting.productivity import __all__ as _productivity_all

__all__ = [
    *_overview_all,
    *_funnel_all,
    *_productivity_all,
    *_forecast_all,
    *_planning_all,
    *_comp_all,
]
