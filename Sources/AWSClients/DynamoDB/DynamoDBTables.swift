import AWSCore
package import JSONCodec

/// The type of a key attribute.
package enum ScalarAttributeType: String, Sendable, Hashable {
    case string = "S"
    case number = "N"
    case binary = "B"
}

/// A key attribute: its name and type.
package struct KeyAttribute: Sendable, Hashable {
    package var name: String
    package var type: ScalarAttributeType
    package init(_ name: String, _ type: ScalarAttributeType) {
        self.name = name
        self.type = type
    }
}

/// A primary key or an index key: a partition key and an optional sort key.
package struct KeySchema: Sendable, Hashable {
    package var partitionKey: KeyAttribute
    package var sortKey: KeyAttribute?
    package init(partitionKey: KeyAttribute, sortKey: KeyAttribute? = nil) {
        self.partitionKey = partitionKey
        self.sortKey = sortKey
    }

    var json: JSON {
        var elements: [JSON] = [.object(["AttributeName": .string(partitionKey.name), "KeyType": .string("HASH")])]
        if let sortKey { elements.append(.object(["AttributeName": .string(sortKey.name), "KeyType": .string("RANGE")])) }
        return .array(elements)
    }

    var attributes: [KeyAttribute] { [partitionKey] + (sortKey.map { [$0] } ?? []) }
}

/// Which attributes an index holds.
package enum IndexProjection: Sendable, Hashable {
    case all
    case keysOnly
    case include([String])

    var json: JSON {
        switch self {
        case .all: .object(["ProjectionType": .string("ALL")])
        case .keysOnly: .object(["ProjectionType": .string("KEYS_ONLY")])
        case .include(let names):
            .object(["ProjectionType": .string("INCLUDE"), "NonKeyAttributes": .array(names.map { .string($0) })])
        }
    }
}

/// A global secondary index to create with a table.
package struct GlobalSecondaryIndex: Sendable, Hashable {
    package var name: String
    package var keys: KeySchema
    package var projection: IndexProjection
    package init(name: String, keys: KeySchema, projection: IndexProjection = .all) {
        self.name = name
        self.keys = keys
        self.projection = projection
    }
}

/// How a table is paid for.
package enum BillingMode: Sendable, Hashable {
    case payPerRequest
    case provisioned(readCapacityUnits: Int, writeCapacityUnits: Int)

    var throughput: JSON? {
        guard case .provisioned(let read, let write) = self else { return nil }
        return .object(["ReadCapacityUnits": .number(read), "WriteCapacityUnits": .number(write)])
    }
}

/// CreateTable. Attribute definitions are derived from the table's and the indexes' keys.
package struct CreateTableRequest: Sendable, Hashable {
    package var tableName: String
    package var keys: KeySchema
    package var globalSecondaryIndexes: [GlobalSecondaryIndex]
    package var billingMode: BillingMode

    package init(
        tableName: String, keys: KeySchema, globalSecondaryIndexes: [GlobalSecondaryIndex] = [],
        billingMode: BillingMode = .payPerRequest
    ) {
        self.tableName = tableName
        self.keys = keys
        self.globalSecondaryIndexes = globalSecondaryIndexes
        self.billingMode = billingMode
    }

    package func body() throws(DynamoDBError) -> JSONObject {
        var definitions: [KeyAttribute] = []
        for attribute in keys.attributes + globalSecondaryIndexes.flatMap(\.keys.attributes) {
            if let existing = definitions.first(where: { $0.name == attribute.name }) {
                guard existing.type == attribute.type else {
                    throw .invalidRequest(
                        "CreateTable \(tableName): key attribute '\(attribute.name)' is declared both as \(existing.type.rawValue) and \(attribute.type.rawValue)")
                }
            } else {
                definitions.append(attribute)
            }
        }
        var body = JSONObject()
        body.append("TableName", .string(tableName))
        body.append(
            "AttributeDefinitions",
            .array(definitions.map { .object(["AttributeName": .string($0.name), "AttributeType": .string($0.type.rawValue)]) }))
        body.append("KeySchema", keys.json)
        if !globalSecondaryIndexes.isEmpty {
            body.append(
                "GlobalSecondaryIndexes",
                .array(
                    globalSecondaryIndexes.map { index in
                        var object: JSONObject = [
                            "IndexName": .string(index.name), "KeySchema": index.keys.json, "Projection": index.projection.json,
                        ]
                        if let throughput = billingMode.throughput { object.append("ProvisionedThroughput", throughput) }
                        return .object(object)
                    }))
        }
        if let throughput = billingMode.throughput {
            body.append("BillingMode", .string("PROVISIONED"))
            body.append("ProvisionedThroughput", throughput)
        } else {
            body.append("BillingMode", .string("PAY_PER_REQUEST"))
        }
        return body
    }
}

/// What DescribeTable (and CreateTable, DeleteTable) say about a table.
package struct TableDescription: Sendable, Hashable {
    package struct Index: Sendable, Hashable {
        package var name: String
        package var status: String?
        package var keys: KeySchema?
    }

    package var tableName: String
    /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`…
    package var status: String
    package var arn: String?
    package var keys: KeySchema?
    package var globalSecondaryIndexes: [Index]
    package var itemCount: Int64?
    /// `PAY_PER_REQUEST` or `PROVISIONED`, when the service says.
    package var billingMode: String?

    init(json: JSON, operation: String) throws(DynamoDBError) {
        guard let name = json["TableName"]?.stringValue, let status = json["TableStatus"]?.stringValue else {
            throw .aws(.invalidResponse("DynamoDB \(operation): the table description has no TableName or TableStatus"))
        }
        var types: [String: ScalarAttributeType] = [:]
        for definition in json["AttributeDefinitions"]?.arrayValue ?? [] {
            if let name = definition["AttributeName"]?.stringValue,
                let type = definition["AttributeType"]?.stringValue.flatMap(ScalarAttributeType.init(rawValue:))
            {
                types[name] = type
            }
        }
        func schema(_ json: JSON?) -> KeySchema? {
            var hash: KeyAttribute?
            var range: KeyAttribute?
            for element in json?.arrayValue ?? [] {
                guard let name = element["AttributeName"]?.stringValue, let type = types[name] else { continue }
                switch element["KeyType"]?.stringValue {
                case "HASH": hash = KeyAttribute(name, type)
                case "RANGE": range = KeyAttribute(name, type)
                default: continue
                }
            }
            return hash.map { KeySchema(partitionKey: $0, sortKey: range) }
        }
        self.tableName = name
        self.status = status
        self.arn = json["TableArn"]?.stringValue
        self.keys = schema(json["KeySchema"])
        self.globalSecondaryIndexes = (json["GlobalSecondaryIndexes"]?.arrayValue ?? []).compactMap { index in
            guard let name = index["IndexName"]?.stringValue else { return nil }
            return Index(name: name, status: index["IndexStatus"]?.stringValue, keys: schema(index["KeySchema"]))
        }
        self.itemCount = json["ItemCount"]?.int64Value
        self.billingMode = json["BillingModeSummary"]?["BillingMode"]?.stringValue
    }
}

/// A table's time-to-live setting.
package struct TimeToLiveDescription: Sendable, Hashable {
    /// `ENABLED`, `DISABLED`, `ENABLING`, `DISABLING`.
    package var status: String
    package var attributeName: String?
}
