from news_harvester.cli.main import main

if __name__ == "__main__":  # a spawned child process (the writer) imports this module as __mp_main__
    main()
