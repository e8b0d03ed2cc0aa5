from . import test_run_segmentation
from . import test_reliability
from . import test_security
from . import test_ui_tours
from . import test_followups
from . import test_benchmark_builder
from . import test_i18n
from . import test_demo
