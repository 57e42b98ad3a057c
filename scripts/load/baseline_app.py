"""The benchmark's baseline: the least a Flask page under the same gunicorn costs (one small HTML
page, no database, no session), so that each page's throughput reads as a share of it."""

from flask import Flask

app = Flask(__name__)

PAGE = '<!doctype html><html lang="ja"><head><title>baseline</title></head><body><p>基準</p></body></html>'


@app.get("/")
def page():
    return PAGE
