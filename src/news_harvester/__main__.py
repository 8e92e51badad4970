from news_harvester.cli import main

main()
