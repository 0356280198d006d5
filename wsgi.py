from verification.app import create_app

app = create_app()
