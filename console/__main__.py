from lgconsole.console.cli.main import main

raise SystemExit(main())
