from cnncalc.cli.entry import main

main()
