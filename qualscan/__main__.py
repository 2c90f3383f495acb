from qualscan.cli import main

raise SystemExit(main())
