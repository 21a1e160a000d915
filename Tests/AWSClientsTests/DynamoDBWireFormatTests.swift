import AWSClients
import AWSCore
import JSONCodec
import Testing

@Suite("DynamoDB wire format")
struct DynamoDBWireFormatTests {
    static let everyType: Item = [
        "s": .s("text with \"quotes\" and ünïcode"),
        "n": .n("12345678901234567890.123"),
        "b": .b([0, 1, 2, 0xFE, 0xFF]),
        "yes": .bool(true),
        "nothing": .null,
        "m": .m(["inner": .s("x"), "deeper": .m(["n": .n("-1.5E-10")])]),
        "l": .l([.s("a"), .n("1"), .l([.bool(false)]), .null]),
        "ss": .ss(["b", "a"]),
        "ns": .ns(["1", "2.5", "-3"]),
        "bs": .bs([[1], [2, 3]]),
    ]

    @Test("Every attribute type encodes to its one-member JSON form")
    func encodesEveryType() throws {
        let json = AttributeValue.json(Self.everyType)
        #expect(json["s"] == .object(["S": .string("text with \"quotes\" and ünïcode")]))
        #expect(json["n"] == .object(["N": .string("12345678901234567890.123")]))
        #expect(json["b"] == .object(["B": .string("AAEC/v8=")]))
        #expect(json["yes"] == .object(["BOOL": .bool(true)]))
        #expect(json["nothing"] == .object(["NULL": .bool(true)]))
        #expect(json["m"]?["M"]?["deeper"]?["M"]?["n"] == .object(["N": .string("-1.5E-10")]))
        #expect(json["l"]?["L"]?[2] == .object(["L": .array([.object(["BOOL": .bool(false)])])]))
        #expect(json["ss"] == .object(["SS": .array([.string("b"), .string("a")])]))
        #expect(json["bs"] == .object(["BS": .array([.string("AQ=="), .string("AgM=")])]))
        // Attributes go out in name order, so equal items serialise identically.
        #expect(json.objectValue?.keys == Self.everyType.keys.sorted())
    }

    @Test("Every attribute type decodes back to the same value (text round trip)")
    func roundTripsThroughText() throws {
        let text = AttributeValue.json(Self.everyType).text
        let decoded = try AttributeValue.item(json: try JSONParser.parse(text))
        #expect(decoded == Self.everyType)
    }

    @Test("Sets compare as sets; lists and numbers do not")
    func setSemantics() {
        #expect(AttributeValue.ss(["a", "b"]) == .ss(["b", "a"]))
        #expect(AttributeValue.bs([[1], [2]]) == .bs([[2], [1]]))
        #expect(Set([AttributeValue.ns(["1", "2"]), .ns(["2", "1"])]).count == 1)
        #expect(AttributeValue.l(["a", "b"]) != .l(["b", "a"]))
        #expect(AttributeValue.ss(["a", "a"]) != .ss(["a"]))
        #expect(AttributeValue.n("1") != .s("1"))
    }

    @Test("Literals and typed accessors")
    func literalsAndAccessors() {
        let item: Item = ["name": "file.csv", "size": 42, "ok": true, "tags": ["a", 1], "meta": ["k": "v"], "gone": nil]
        #expect(item.string("name") == "file.csv")
        #expect(item.int("size") == 42)
        #expect(item.int64("size") == 42)
        #expect(item.double("size") == 42)
        #expect(item.numberText("size") == "42")
        #expect(item.bool("ok") == true)
        #expect(item.list("tags") == [.s("a"), .n("1")])
        #expect(item.map("meta")?.string("k") == "v")
        #expect(item["gone"]?.isNull == true)
        #expect(item.string("size") == nil)
        #expect(AttributeValue.number(UInt64.max) == .n("18446744073709551615"))
        #expect(AttributeValue.number(0.1) == .n("0.1"))
        #expect(AttributeValue.number(Double.nan) == nil)
    }

    @Test(
        "Malformed attribute values are rejected with the path of the bad value",
        arguments: [
            (#"{"a":{"S":1}}"#, "Item.a.S"),
            (#"{"a":{"B":"not base64!"}}"#, "Item.a.B"),
            (#"{"a":{"M":{"b":{"L":[{"X":"?"}]}}}}"#, "Item.a.M.b.L[0]"),
            (#"{"a":{"S":"x","N":"1"}}"#, "Item.a"),
            (#"{"a":{"NULL":false}}"#, "Item.a.NULL"),
            (#"{"a":{"BS":["AA==","*"]}}"#, "Item.a.BS[1]"),
            (#"{"a":"plain"}"#, "Item.a"),
        ])
    func rejectsMalformed(json: String, path: String) throws {
        #expect {
            _ = try AttributeValue.item(json: try JSONParser.parse(json))
        } throws: { error in
            (error as? AttributeValueDecodingError)?.path == path
        }
    }

    @Test("DynamoDB numbers: sign, fraction, exponent, at most 38 significant digits")
    func numberSyntax() {
        for good in ["0", "-1", "+2", "1.5", ".5", "5.", "1e10", "1E-130", "12345678901234567890.123", String(repeating: "9", count: 38), "1" + String(repeating: "0", count: 40)] {
            #expect(AttributeValue.isNumber(good), "\(good)")
        }
        for bad in ["", "-", ".", "1.2.3", "1e", "e5", "0x10", "NaN", "Infinity", " 1", "1,5", String(repeating: "9", count: 39), "1e12345"] {
            #expect(!AttributeValue.isNumber(bad), "\(bad)")
        }
    }

    @Test("A write with an empty set, a bad number or a bad placeholder is refused before sending")
    func refusesInvalidWrites() {
        #expect(throws: DynamoDBError.self) {
            _ = try PutItemRequest(tableName: "t", item: ["pk": "a", "tags": .ss([])]).body()
        }
        do {
            _ = try PutItemRequest(tableName: "t", item: ["pk": "a", "m": ["n": .n("12abc")]]).body()
            Issue.record("expected invalidRequest")
        } catch {
            #expect(error.code == "InvalidRequest")
            #expect(error.description.contains("Item.m.n"))
            #expect(!error.description.contains("12abc"))
        }
        #expect(throws: DynamoDBError.self) {
            _ = try UpdateItemRequest(
                tableName: "t", key: ["pk": "a"], updateExpression: "SET x = v",
                attributes: ExpressionAttributes(values: ["v": "no colon"])
            ).body()
        }
        #expect(throws: DynamoDBError.self) {
            _ = try PutItemRequest(tableName: "t", item: ["pk": "a"], returnValues: .allNew).body()
        }
        #expect(throws: DynamoDBError.self) { _ = try TransactWriteRequest(items: []).body() }
    }

    @Test("Placeholders from the builder are unique, reused per name, and carry any name or value")
    func expressionBuilder() throws {
        var attributes = ExpressionAttributes()
        let status = attributes.name("status")
        let again = attributes.name("status")
        let dotted = attributes.path(["meta.data", "size"])
        let v1 = attributes.value("done")
        let v2 = attributes.value("done")
        #expect(status == again)
        #expect(dotted.split(separator: ".").count == 2)
        #expect(v1 != v2)
        #expect(attributes.names[status] == "status")
        #expect(Set(attributes.names.values) == ["status", "meta.data", "size"])
        let body = try UpdateItemRequest(
            tableName: "t", key: ["pk": "a"], updateExpression: "SET \(status) = \(v1)", conditionExpression: "attribute_exists(\(dotted))",
            attributes: attributes, returnValues: .updatedNew, returnOldItemOnConditionFailure: true
        ).body()
        #expect(body["ExpressionAttributeNames"]?[status] == .string("status"))
        #expect(body["ExpressionAttributeValues"]?[v1] == .object(["S": .string("done")]))
        #expect(body["ReturnValues"] == .string("UPDATED_NEW"))
        #expect(body["ReturnValuesOnConditionCheckFailure"] == .string("ALL_OLD"))
    }

    @Test("Transaction actions leave out ReturnValues and keep the condition-failure option")
    func transactionBody() throws {
        let body = try TransactWriteRequest(
            items: [
                .put(PutItemRequest(tableName: "t", item: ["pk": "a"], conditionExpression: "attribute_not_exists(pk)", returnValues: .allOld)),
                .conditionCheck(ConditionCheckRequest(tableName: "t", key: ["pk": "b"], conditionExpression: "attribute_exists(pk)", returnOldItemOnConditionFailure: true)),
            ], clientRequestToken: "token-1"
        ).body()
        let actions = try #require(body["TransactItems"]?.arrayValue)
        #expect(actions[0]["Put"]?["ReturnValues"] == nil)
        #expect(actions[0]["Put"]?["ConditionExpression"] == .string("attribute_not_exists(pk)"))
        #expect(actions[1]["ConditionCheck"]?["ReturnValuesOnConditionCheckFailure"] == .string("ALL_OLD"))
        #expect(body["ClientRequestToken"] == .string("token-1"))
        #expect(throws: DynamoDBError.self) {
            _ = try TransactWriteRequest(items: [.delete(DeleteItemRequest(tableName: "t", key: ["pk": "a"]))], clientRequestToken: String(repeating: "x", count: 37)).body()
        }
    }

    @Test("CreateTable derives attribute definitions and refuses a key declared with two types")
    func createTableBody() throws {
        let request = CreateTableRequest(
            tableName: "t", keys: KeySchema(partitionKey: KeyAttribute("pk", .string), sortKey: KeyAttribute("sk", .number)),
            globalSecondaryIndexes: [GlobalSecondaryIndex(name: "by-status", keys: KeySchema(partitionKey: KeyAttribute("status", .string), sortKey: KeyAttribute("sk", .number)))])
        let body = try request.body()
        #expect(body["AttributeDefinitions"]?.arrayValue?.count == 3)
        #expect(body["BillingMode"] == .string("PAY_PER_REQUEST"))
        #expect(body["GlobalSecondaryIndexes"]?[0]?["Projection"]?["ProjectionType"] == .string("ALL"))
        var clash = request
        clash.globalSecondaryIndexes[0].keys.sortKey = KeyAttribute("sk", .string)
        #expect(throws: DynamoDBError.self) { _ = try clash.body() }
    }

    @Test("A cancellation message without structured reasons still yields the reasons")
    func reasonsFromMessage() {
        let error = AWSError.service(
            AWSServiceError(
                status: 400, code: "TransactionCanceledException",
                message: "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"))
        let typed = DynamoDBError.from(error)
        guard case .transactionCanceled(let reasons) = typed else {
            Issue.record("expected transactionCanceled, got \(typed)")
            return
        }
        #expect(reasons.map(\.code) == ["None", "ConditionalCheckFailed"])
    }
}
