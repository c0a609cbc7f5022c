"""plotly figure builders shared by the explorer app and the notebooks.

Each builder takes an experiment's result (a DataFrame or arrays, see
:mod:`ccel_core.experiments`) and returns a :class:`plotly.graph_objects.Figure` with
``template="plotly_white"``; show it with ``st.plotly_chart(fig)`` or ``fig.show()``. Styles are
shared (:mod:`ccel_core.plots._style`): collision CE vermillion and solid, Shannon CE blue and
dashed, one palette for cluster ids. No streamlit here.
"""

from . import curves, notebook, runs, simplex, tables, trajectories
from ._style import *  # noqa: F403 (each module's __all__, combined below)
from ._style import __all__ as _style_names
from .curves import *  # noqa: F403
from .notebook import *  # noqa: F403
from .runs import *  # noqa: F403
from .simplex import *  # noqa: F403
from .tables import *  # noqa: F403
from .trajectories import *  # noqa: F403

__all__ = [
    *curves.__all__,
    *notebook.__all__,
    *runs.__all__,
    *simplex.__all__,
    *tables.__all__,
    *trajectories.__all__,
    *_style_names,
]
