# A VPC module at the repository root in the shape of terraform-aws-modules/terraform-aws-vpc:
# subnets made with count over CIDR lists, one NAT gateway per AZ or a single one, route tables
# per tier, optional S3 gateway endpoint; examples/* call it with source = "../../".

locals {
  create_vpc   = var.create_vpc
  nat_count    = var.enable_nat_gateway ? (var.single_nat_gateway ? 1 : length(var.azs)) : 0
  public_count = local.create_vpc ? length(var.public_subnets) : 0
}

resource "aws_vpc" "this" {
  count = local.create_vpc ? 1 : 0

  cidr_block           = var.cidr
  enable_dns_hostnames = var.enable_dns_hostnames
  enable_dns_support   = var.enable_dns_support
  tags                 = merge({ Name = var.name }, var.tags)
}

resource "aws_internet_gateway" "this" {
  count  = local.public_count > 0 ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge({ Name = var.name }, var.tags)
}

resource "aws_subnet" "public" {
  count = local.public_count

  vpc_id                  = aws_vpc.this[0].id
  cidr_block              = element(concat(var.public_subnets, [""]), count.index)
  availability_zone       = element(var.azs, count.index)
  map_public_ip_on_launch = var.map_public_ip_on_launch
  tags                    = merge({ Name = format("${var.name}-public-%s", element(var.azs, count.index)) }, var.tags)
}

resource "aws_subnet" "private" {
  count = local.create_vpc ? length(var.private_subnets) : 0

  vpc_id            = aws_vpc.this[0].id
  cidr_block        = var.private_subnets[count.index]
  availability_zone = length(regexall("^[a-z]{2}-", element(var.azs, count.index))) > 0 ? element(var.azs, count.index) : null
  tags              = merge({ Name = "${var.name}-private-${element(var.azs, count.index)}" }, var.tags)
}

resource "aws_route_table" "public" {
  count  = local.public_count > 0 ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge({ Name = "${var.name}-public" }, var.tags)
}

resource "aws_route" "public_internet_gateway" {
  count                  = local.public_count > 0 ? 1 : 0
  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count          = local.public_count
  subnet_id      = element(aws_subnet.public[*].id, count.index)
  route_table_id = aws_route_table.public[0].id
}

resource "aws_eip" "nat" {
  count  = local.nat_count
  domain = "vpc"
}

resource "aws_nat_gateway" "this" {
  count         = local.nat_count
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
}

resource "aws_route_table" "private" {
  count  = local.create_vpc ? length(var.private_subnets) : 0
  vpc_id = aws_vpc.this[0].id
}

resource "aws_route" "private_nat_gateway" {
  count                  = local.nat_count > 0 ? length(var.private_subnets) : 0
  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
}

resource "aws_route_table_association" "private" {
  count          = local.create_vpc ? length(var.private_subnets) : 0
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

resource "aws_vpc_endpoint" "s3" {
  count = local.create_vpc && var.enable_s3_endpoint ? 1 : 0

  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
}
