import AWSClients
import AWSCore
import Testing
import TestSupport

/// DynamoDB calls against a real moto server with signature checking on. Each test makes its own table.
@Suite("DynamoDB against moto")
struct DynamoDBMotoTests {
    let ddb: DynamoDBClient

    init() async throws { ddb = try await DynamoDBSSMMoto.dynamoDB() }

    /// A new table keyed by `pk` (S) and `sk` (N), with a GSI on `status` (S) / `sk`.
    func makeTable() async throws -> String {
        let name = DynamoDBSSMMoto.uniqueName("ddb")
        try await ddb.createTable(
            CreateTableRequest(
                tableName: name, keys: KeySchema(partitionKey: KeyAttribute("pk", .string), sortKey: KeyAttribute("sk", .number)),
                globalSecondaryIndexes: [
                    GlobalSecondaryIndex(
                        name: "by-status", keys: KeySchema(partitionKey: KeyAttribute("status", .string), sortKey: KeyAttribute("sk", .number)))
                ]))
        return name
    }

    @Test("CreateTable with a GSI, DescribeTable, UpdateTimeToLive and DeleteTable")
    func tableLifecycle() async throws {
        let name = try await makeTable()
        let table = try await ddb.waitUntilActive(name, attempts: 5, interval: .milliseconds(100))
        #expect(table.tableName == name)
        #expect(table.status == "ACTIVE")
        #expect(table.keys == KeySchema(partitionKey: KeyAttribute("pk", .string), sortKey: KeyAttribute("sk", .number)))
        #expect(table.globalSecondaryIndexes.map(\.name) == ["by-status"])
        #expect(table.globalSecondaryIndexes.first?.keys?.partitionKey == KeyAttribute("status", .string))
        #expect(table.billingMode == "PAY_PER_REQUEST")
        #expect(table.arn?.hasSuffix(":table/\(name)") == true)

        try await ddb.updateTimeToLive(table: name, attribute: "expires_at")
        let ttl = try await ddb.describeTimeToLive(table: name)
        #expect(ttl.status == "ENABLED")
        #expect(ttl.attributeName == "expires_at")

        let deleted = try await ddb.deleteTable(name)
        #expect(deleted.tableName == name)
        await #expect {
            _ = try await ddb.describeTable(name)
        } throws: { error in
            (error as? DynamoDBError)?.code == "ResourceNotFoundException"
        }
    }

    @Test("Every attribute type round-trips through DynamoDB exactly: binary, sets, nested maps and lists, big decimals")
    func everyTypeRoundTrips() async throws {
        let table = try await makeTable()
        var item = DynamoDBWireFormatTests.everyType
        item["pk"] = "types"
        item["sk"] = 1
        item["big"] = .n("12345678901234567890.123")
        item["negative"] = .n("-0.000000000000000000000000000000000001")
        item["allBytes"] = .b((0...255).map { UInt8($0) })
        item["empty"] = .s("")
        item["emptyList"] = .l([])
        item["emptyMap"] = .m([:])
        try await ddb.putItem(PutItemRequest(tableName: table, item: item))
        let read = try await ddb.getItem(table: table, key: ["pk": "types", "sk": 1], consistentRead: true)
        #expect(read == item)
        #expect(read?.numberText("big") == "12345678901234567890.123")
        #expect(read?.bytes("allBytes")?.count == 256)

        var projection = ExpressionAttributes()
        let expression = [projection.name("big"), projection.path(["m", "inner"])].joined(separator: ", ")
        let projected = try await ddb.getItem(
            GetItemRequest(tableName: table, key: ["pk": "types", "sk": 1], projectionExpression: expression, attributes: projection))
        #expect(projected == ["big": .n("12345678901234567890.123"), "m": ["inner": "x"]])
    }

    @Test("GetItem of a key with no item answers nil")
    func missingItem() async throws {
        let table = try await makeTable()
        #expect(try await ddb.getItem(table: table, key: ["pk": "nobody", "sk": 0]) == nil)
    }

    @Test("A conditional put that fails is a typed error carrying the old item when asked for")
    func conditionalPutFails() async throws {
        let table = try await makeTable()
        let original: Item = ["pk": "file-1", "sk": 1, "status": "RECEIVED", "size": 10]
        try await ddb.putItem(PutItemRequest(tableName: table, item: original, conditionExpression: "attribute_not_exists(pk)"))

        let duplicate: Item = ["pk": "file-1", "sk": 1, "status": "DUPLICATE"]
        do {
            try await ddb.putItem(
                PutItemRequest(
                    tableName: table, item: duplicate, conditionExpression: "attribute_not_exists(pk)", returnOldItemOnConditionFailure: true))
            Issue.record("the conditional put succeeded twice")
        } catch {
            guard case .conditionalCheckFailed(let old) = error else {
                Issue.record("expected conditionalCheckFailed, got \(error)")
                return
            }
            #expect(old == original)
            #expect(error.code == "ConditionalCheckFailedException")
            #expect(!error.description.contains("RECEIVED"))
        }
        do {
            try await ddb.putItem(PutItemRequest(tableName: table, item: duplicate, conditionExpression: "attribute_not_exists(pk)"))
            Issue.record("the conditional put succeeded twice")
        } catch {
            guard case .conditionalCheckFailed(let old) = error else {
                Issue.record("expected conditionalCheckFailed, got \(error)")
                return
            }
            #expect(old == nil)
        }
        #expect(try await ddb.getItem(table: table, key: ["pk": "file-1", "sk": 1], consistentRead: true) == original)
    }

    @Test("PutItem and DeleteItem return the old item with ALL_OLD; a failed delete condition keeps the item")
    func putAndDeleteReturnValues() async throws {
        let table = try await makeTable()
        let key: Item = ["pk": "p", "sk": 1]
        #expect(try await ddb.putItem(PutItemRequest(tableName: table, item: key.merging(["v": 1]) { $1 }, returnValues: .allOld)) == nil)
        let replaced = try await ddb.putItem(PutItemRequest(tableName: table, item: key.merging(["v": 2]) { $1 }, returnValues: .allOld))
        #expect(replaced?.int("v") == 1)

        var attributes = ExpressionAttributes()
        let condition = "\(attributes.name("v")) = \(attributes.value(99))"
        await #expect {
            try await ddb.deleteItem(DeleteItemRequest(tableName: table, key: key, conditionExpression: condition, attributes: attributes))
        } throws: { error in
            if case .conditionalCheckFailed = error as? DynamoDBError { return true }
            return false
        }
        let deleted = try await ddb.deleteItem(DeleteItemRequest(tableName: table, key: key, returnValues: .allOld))
        #expect(deleted?.int("v") == 2)
        #expect(try await ddb.getItem(table: table, key: key, consistentRead: true) == nil)
    }

    @Test("UpdateItem with SET, ADD and REMOVE returns ALL_NEW, UPDATED_OLD and UPDATED_NEW attributes")
    func updateItemExpressions() async throws {
        let table = try await makeTable()
        let key: Item = ["pk": "counter", "sk": 1]
        try await ddb.putItem(
            PutItemRequest(tableName: table, item: key.merging(["tries": 1, "tags": .ss(["a"]), "obsolete": "x", "status": "NEW"]) { $1 }))

        var attributes = ExpressionAttributes()
        let update = """
            SET \(attributes.name("status")) = \(attributes.value("DONE")), \(attributes.path(["meta", "by"])) = \(attributes.value("test")) \
            ADD \(attributes.name("tries")) \(attributes.value(1)), \(attributes.name("tags")) \(attributes.value(.ss(["b"]))) \
            REMOVE \(attributes.name("obsolete"))
            """
        // `meta` does not exist yet: set it whole first, then the nested path works.
        try await ddb.updateItem(
            UpdateItemRequest(
                tableName: table, key: key, updateExpression: "SET meta = :m", attributes: ExpressionAttributes(values: [":m": [:]])))
        let all = try #require(
            try await ddb.updateItem(
                UpdateItemRequest(tableName: table, key: key, updateExpression: update, attributes: attributes, returnValues: .allNew)))
        #expect(all.int("tries") == 2)
        #expect(all["tags"] == .ss(["a", "b"]))
        #expect(all.string("status") == "DONE")
        #expect(all.map("meta") == ["by": "test"])
        #expect(all["obsolete"] == nil)
        #expect(all.string("pk") == "counter")

        var next = ExpressionAttributes()
        let increment = "ADD \(next.name("tries")) \(next.value(40))"
        let old = try await ddb.updateItem(
            UpdateItemRequest(tableName: table, key: key, updateExpression: increment, attributes: next, returnValues: .updatedOld))
        #expect(old == ["tries": 2])
        let new = try await ddb.updateItem(
            UpdateItemRequest(tableName: table, key: key, updateExpression: increment, attributes: next, returnValues: .updatedNew))
        #expect(new == ["tries": 82])

        // Only when the status is still NEW: it is not, so nothing changes and the old item comes back.
        var guarded = ExpressionAttributes()
        let claim = "SET \(guarded.name("status")) = \(guarded.value("CLAIMED"))"
        let onlyNew = "\(guarded.name("status")) = \(guarded.value("NEW"))"
        do {
            try await ddb.updateItem(
                UpdateItemRequest(
                    tableName: table, key: key, updateExpression: claim, conditionExpression: onlyNew, attributes: guarded,
                    returnOldItemOnConditionFailure: true))
            Issue.record("the guarded update succeeded")
        } catch {
            guard case .conditionalCheckFailed(let current) = error else {
                Issue.record("expected conditionalCheckFailed, got \(error)")
                return
            }
            #expect(current?.string("status") == "DONE")
            #expect(current?.int("tries") == 82)
        }
    }

    @Test("Query pages with Limit 2 over 7 items; queryAll walks every page; order and filter apply")
    func queryPagination() async throws {
        let table = try await makeTable()
        for sk in 1...7 {
            try await ddb.putItem(PutItemRequest(tableName: table, item: ["pk": "batch", "sk": .number(sk), "odd": .bool(sk % 2 == 1)]))
        }
        try await ddb.putItem(PutItemRequest(tableName: table, item: ["pk": "other", "sk": 1]))

        var attributes = ExpressionAttributes()
        let keyCondition = "\(attributes.name("pk")) = \(attributes.value("batch"))"
        var request = QueryRequest(tableName: table, keyConditionExpression: keyCondition, attributes: attributes, limit: 2)

        var pages: [[Int]] = []
        while true {
            let page = try await ddb.query(request)
            pages.append(page.items.compactMap { $0.int("sk") })
            #expect(page.count == page.items.count)
            guard let next = page.lastEvaluatedKey else { break }
            #expect(Set(next.keys) == ["pk", "sk"])
            request.exclusiveStartKey = next
            #expect(pages.count < 10, "pagination does not end")
            if pages.count >= 10 { break }
        }
        #expect(pages.flatMap { $0 } == [1, 2, 3, 4, 5, 6, 7])
        #expect(pages.dropLast().allSatisfy { $0.count == 2 })

        request.exclusiveStartKey = nil
        let all = try await ddb.queryAll(request)
        #expect(all.compactMap { $0.int("sk") } == [1, 2, 3, 4, 5, 6, 7])

        request.scanIndexForward = false
        let firstTwo = try await ddb.queryAll(request, maxPages: 1)
        #expect(firstTwo.compactMap { $0.int("sk") } == [7, 6])

        var filtered = QueryRequest(
            tableName: table, keyConditionExpression: keyCondition, filterExpression: "odd = :yes", attributes: attributes)
        filtered.attributes.values[":yes"] = true
        let odd = try await ddb.queryAll(filtered)
        #expect(odd.compactMap { $0.int("sk") } == [1, 3, 5, 7])
    }

    @Test("Query on a global secondary index")
    func queryIndex() async throws {
        let table = try await makeTable()
        for (sk, status) in [(1, "DONE"), (2, "FAILED"), (3, "DONE"), (4, "RECEIVED"), (5, "DONE")] {
            try await ddb.putItem(
                PutItemRequest(tableName: table, item: ["pk": .s("file-\(sk)"), "sk": .number(sk), "status": .s(status)]))
        }
        var attributes = ExpressionAttributes()
        let condition = "\(attributes.name("status")) = \(attributes.value("DONE")) AND \(attributes.name("sk")) > \(attributes.value(1))"
        let done = try await ddb.queryAll(
            QueryRequest(tableName: table, indexName: "by-status", keyConditionExpression: condition, attributes: attributes, limit: 1))
        #expect(done.compactMap { $0.string("pk") } == ["file-3", "file-5"])
    }

    @Test("TransactWriteItems applies Put, Update, Delete and ConditionCheck together")
    func transactionSucceeds() async throws {
        let table = try await makeTable()
        try await ddb.putItem(PutItemRequest(tableName: table, item: ["pk": "lock", "sk": 0, "owner": "me"]))
        try await ddb.putItem(PutItemRequest(tableName: table, item: ["pk": "old", "sk": 0]))
        try await ddb.putItem(PutItemRequest(tableName: table, item: ["pk": "count", "sk": 0, "n": 5]))

        try await ddb.transactWriteItems(
            TransactWriteRequest(items: [
                .conditionCheck(
                    ConditionCheckRequest(
                        tableName: table, key: ["pk": "lock", "sk": 0], conditionExpression: "#o = :me",
                        attributes: ExpressionAttributes(names: ["#o": "owner"], values: [":me": "me"]))),
                .put(PutItemRequest(tableName: table, item: ["pk": "new", "sk": 0], conditionExpression: "attribute_not_exists(pk)")),
                .update(
                    UpdateItemRequest(
                        tableName: table, key: ["pk": "count", "sk": 0], updateExpression: "ADD n :one",
                        attributes: ExpressionAttributes(values: [":one": 1]))),
                .delete(DeleteItemRequest(tableName: table, key: ["pk": "old", "sk": 0])),
            ]))
        #expect(try await ddb.getItem(table: table, key: ["pk": "new", "sk": 0], consistentRead: true) != nil)
        #expect(try await ddb.getItem(table: table, key: ["pk": "count", "sk": 0], consistentRead: true)?.int("n") == 6)
        #expect(try await ddb.getItem(table: table, key: ["pk": "old", "sk": 0], consistentRead: true) == nil)
    }

    @Test("A cancelled transaction carries one reason per action and writes nothing")
    func transactionCancelled() async throws {
        let table = try await makeTable()
        let lock: Item = ["pk": "lock", "sk": 0, "owner": "someone-else"]
        try await ddb.putItem(PutItemRequest(tableName: table, item: lock))

        do {
            try await ddb.transactWriteItems(
                TransactWriteRequest(
                    items: [
                        .put(PutItemRequest(tableName: table, item: ["pk": "new", "sk": 0])),
                        .conditionCheck(
                            ConditionCheckRequest(
                                tableName: table, key: ["pk": "lock", "sk": 0], conditionExpression: "#o = :me",
                                attributes: ExpressionAttributes(names: ["#o": "owner"], values: [":me": "me"]),
                                returnOldItemOnConditionFailure: true)),
                    ], clientRequestToken: DynamoDBSSMMoto.uniqueName("tx")))
            Issue.record("the transaction went through")
        } catch {
            guard case .transactionCanceled(let reasons) = error else {
                Issue.record("expected transactionCanceled, got \(error)")
                return
            }
            #expect(reasons.map(\.code) == ["None", "ConditionalCheckFailed"])
            #expect(reasons[0].isNone)
            #expect(reasons[1].isConditionalCheckFailed)
            #expect(reasons[1].item == lock)
            #expect(error.code == "TransactionCanceledException")
        }
        #expect(try await ddb.getItem(table: table, key: ["pk": "new", "sk": 0], consistentRead: true) == nil)
    }

    @Test("A request signed with a tampered secret is rejected with the service's typed code, and the secret is not in the error")
    func tamperedSecret() async throws {
        let table = try await makeTable()
        let moto = try await SharedMoto.get().secretAccessKey
        let tampered = try await DynamoDBSSMMoto.dynamoDB(secretOverride: moto + "x")
        do {
            _ = try await tampered.getItem(table: table, key: ["pk": "a", "sk": 1])
            Issue.record("a request with the wrong secret was accepted")
        } catch {
            guard case .aws(.service(let service)) = error else {
                Issue.record("expected a service error, got \(error)")
                return
            }
            #expect(service.status == 403)
            #expect(["InvalidSignatureException", "SignatureDoesNotMatch"].contains(service.code))
            #expect(!"\(error)".contains(moto))
        }
    }
}
