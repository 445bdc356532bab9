from ubscope.cli import main

raise SystemExit(main())
