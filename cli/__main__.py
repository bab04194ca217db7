if __package__:
    from .app import main
else:  # run as a file: spark-submit takes the path of this file as its application
    from segment_cli.app import main

main()
