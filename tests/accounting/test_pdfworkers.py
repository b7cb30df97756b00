"""WeasyPrint in child processes: several specification PDFs at once, the same PDF as in this
process, and a child that dies is replaced."""

import os
import signal
import threading

import pytest

from accounting.pdfworkers import PdfWorkers, RendererGone

HTML = "<html><body><h1>Fakturaspesifikasjon</h1><p>Kiste, eik heltre – 18 400,00</p></body></html>"


@pytest.fixture
def workers():
    pool = PdfWorkers(2)
    yield pool
    pool.close()


def test_pdfs_are_rendered_in_child_processes_at_once(workers):
    started = threading.Barrier(2)
    pdfs = []

    def render():
        started.wait()
        pdfs.append(workers.render(HTML))

    threads = [threading.Thread(target=render) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(pdfs) == 2 and all(pdf.startswith(b"%PDF-") for pdf in pdfs)
    children = [child.process.pid for child in workers._children]
    assert len(children) == 2 and os.getpid() not in children


def test_a_child_that_died_is_replaced(workers):
    assert workers.render(HTML).startswith(b"%PDF-")
    [child] = workers._children
    os.kill(child.process.pid, signal.SIGKILL)
    child.process.wait(timeout=10)

    with pytest.raises(RendererGone):
        workers.render(HTML)
    assert workers.render(HTML).startswith(b"%PDF-")  # a new child
    assert [c.process.pid for c in workers._children] != [child.process.pid]
