import sys

from pixseek.interfaces.cli import main

sys.exit(main())
