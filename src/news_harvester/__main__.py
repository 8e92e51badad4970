from news_harvester.cli.main import main

main()
