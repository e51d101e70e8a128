from wsync.cli import main

main()
