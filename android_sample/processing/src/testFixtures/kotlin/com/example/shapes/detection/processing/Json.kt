package com.example.shapes.detection.processing

/**
 * Just enough JSON for the golden files (the test classpath has no JSON library). Numbers keep
 * their text, so that a float written by tflgen reads back as exactly the same Float.
 */
class Json private constructor(private val value: Any?) {
    operator fun get(key: String): Json {
        val map = value as? Map<*, *> ?: throw IllegalStateException("not an object: $value")
        return Json(map[key] ?: throw NoSuchElementException("no \"$key\" in $map"))
    }

    fun has(key: String): Boolean = (value as? Map<*, *>)?.containsKey(key) == true

    val items: List<Json> get() = (value as? List<*> ?: throw IllegalStateException("not an array: $value")).map(::Json)

    fun string(): String = value as? String ?: throw IllegalStateException("not a string: $value")
    fun int(): Int = number().toInt()
    fun float(): Float = number().toFloat()
    private fun number(): String = (value as? JsonNumber)?.text ?: throw IllegalStateException("not a number: $value")

    override fun toString(): String = value.toString()

    private class JsonNumber(val text: String) {
        override fun toString() = text
    }

    private class Reader(private val text: String) {
        private var at = 0

        fun document(): Any? = value().also {
            space()
            check(at == text.length) { "trailing text at $at" }
        }

        private fun value(): Any? {
            space()
            return when (text[at]) {
                '{' -> members()
                '[' -> elements()
                '"' -> string()
                't' -> word("true", true)
                'f' -> word("false", false)
                'n' -> word("null", null)
                else -> number()
            }
        }

        private fun members(): Map<String, Any?> {
            val map = LinkedHashMap<String, Any?>()
            at++
            space()
            if (text[at] == '}') return map.also { at++ }
            while (true) {
                space()
                val key = string()
                space()
                expect(':')
                map[key] = value()
                space()
                if (text[at++] == '}') return map
                check(text[at - 1] == ',') { "expected , or } at ${at - 1}" }
            }
        }

        private fun elements(): List<Any?> {
            val list = ArrayList<Any?>()
            at++
            space()
            if (text[at] == ']') return list.also { at++ }
            while (true) {
                list.add(value())
                space()
                if (text[at++] == ']') return list
                check(text[at - 1] == ',') { "expected , or ] at ${at - 1}" }
            }
        }

        private fun string(): String {
            expect('"')
            val out = StringBuilder()
            while (true) {
                val c = text[at++]
                when (c) {
                    '"' -> return out.toString()
                    '\\' -> {
                        val escaped = text[at++]
                        out.append(
                            when (escaped) {
                                'n' -> '\n'
                                't' -> '\t'
                                'r' -> '\r'
                                'b' -> '\b'
                                'f' -> '\u000C'
                                'u' -> text.substring(at, at + 4).toInt(16).toChar().also { at += 4 }
                                else -> escaped // \" \\ \/
                            },
                        )
                    }
                    else -> out.append(c)
                }
            }
        }

        private fun number(): JsonNumber {
            val start = at
            while (at < text.length && text[at] in "+-0123456789.eE") at++
            check(at > start) { "unexpected '${text[start]}' at $start" }
            return JsonNumber(text.substring(start, at))
        }

        private fun word(word: String, value: Any?): Any? {
            check(text.startsWith(word, at)) { "unexpected text at $at" }
            at += word.length
            return value
        }

        private fun expect(c: Char) {
            check(text[at] == c) { "expected $c at $at" }
            at++
        }

        private fun space() {
            while (at < text.length && text[at].isWhitespace()) at++
        }
    }

    companion object {
        fun parse(text: String): Json = Json(Reader(text).document())
    }
}
