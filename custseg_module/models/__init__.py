from . import custseg_run
from . import custseg_run_line
from . import custseg_segment
from . import res_partner
from . import custseg_partner_history
from . import res_config_settings
from . import custseg_demo
from . import account_move
