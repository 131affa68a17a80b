// Package bridge is the domain of imbridge: the Tencent Cloud Chat callback and the
// Kafka event it becomes, signature verification, decoding and mapping, the routing
// table, the Delivery interface that the delivery modes implement, and the error kinds
// that the HTTP adapter maps to answers.
//
// It imports no framework. Adapters live in subpackages named after what they adapt
// (httpapi for Echo, kafka for kafka-go); cmd/imbridge wires them together.
package bridge
