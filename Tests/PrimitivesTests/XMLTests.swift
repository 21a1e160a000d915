import Testing
import XMLCodec

@Suite("XML reading")
struct XMLTests {
    @Test("A ListObjectsV2 answer is read with entities, namespaces and repeated children")
    func listObjects() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
            <Contents><Key>a &amp; b.json</Key><Size>10</Size></Contents>
            <!-- comment -->
            <Contents><Key><![CDATA[<c>]]></Key><Size>20</Size></Contents>
            <IsTruncated>false</IsTruncated></ListBucketResult>
            """
        let root = try XMLElement.parse(text)
        #expect(root.name == "ListBucketResult")
        #expect(root.attributes["xmlns"] == "http://s3.amazonaws.com/doc/2006-03-01/")
        #expect(root.children("Contents").compactMap { $0.childText("Key") } == ["a & b.json", "<c>"])
        #expect(root.childText("IsTruncated") == "false")
    }

    @Test("Numeric character references decode to UTF-8")
    func characterReferences() throws {
        #expect(try XMLElement.parse("<a>caf&#233;&#x1F600;</a>").text == "café😀")
    }

    @Test("Document type declarations are refused (no entity expansion)")
    func noDoctype() {
        #expect(throws: XMLError.self) { try XMLElement.parse("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>") }
    }

    @Test("Mismatched and unterminated tags are errors", arguments: ["<a></b>", "<a>", "", "<a><b></a>", "<a>&bogus;</a>"])
    func malformed(text: String) {
        #expect(throws: XMLError.self) { try XMLElement.parse(text) }
    }

    @Test("Escaping for request bodies")
    func escaping() {
        #expect(XMLWriter.element("Key", "a<b>&\"c'") == "<Key>a&lt;b&gt;&amp;&quot;c&apos;</Key>")
    }
}
