import sys

from auditor.coverage.doc import main

sys.exit(main())
