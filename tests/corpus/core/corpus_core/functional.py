"""A Functional API workflow: an @entrypoint calling @tasks, remembering its last result between runs."""

from langgraph.func import entrypoint, task


@task
def normalise(text: str) -> str:
    return " ".join(text.lower().split())


@task
def count_words(text: str) -> int:
    return len(text.split())


@entrypoint()
def workflow(inputs: dict, *, previous: dict | None = None) -> entrypoint.final[dict, dict]:
    text = normalise(inputs["text"]).result()
    words = count_words(text).result()
    total = (previous or {}).get("total_words", 0) + words
    result = {"text": text, "words": words, "total_words": total}
    return entrypoint.final(value=result, save=result)
