# One jump box: a security group that admits the SSH port from one CIDR, and
# an instance of Debian 13 (or Amazon Linux 2023: ami_os) configured by
# cloud-init (../../userdata).
#
# No provider block: the root the provisioner writes inherits the default aws
# provider, configured from the environment (AWS_REGION and the function's
# role in Lambda).

data "aws_region" "current" {}

data "aws_ssm_parameter" "ami" {
  count = var.ami_id == "" ? 1 : 0
  name  = local.ami_ssm_parameter
}

data "aws_subnet" "box" {
  count = var.subnet_id != "" && var.vpc_id == "" ? 1 : 0
  id    = var.subnet_id
}

data "aws_vpc" "default" {
  count   = var.subnet_id == "" && var.vpc_id == "" ? 1 : 0
  default = true
}

# A subnet is always named: without one the provider leaves the public
# address to the subnet's MapPublicIpOnLaunch (true in every default subnet),
# so the box would get a public IPv4 address it was not asked for, and every
# later plan would replace it.
data "aws_subnets" "default" {
  count = var.subnet_id == "" ? 1 : 0
  filter {
    name   = "vpc-id"
    values = [local.vpc_id]
  }
  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

locals {
  # The distributions' own public parameters, each naming its latest release.
  # AL2023 calls amd64 x86_64.
  ami_parameters = {
    "debian-13" = {
      arm64 = "/aws/service/debian/release/13/latest/arm64"
      amd64 = "/aws/service/debian/release/13/latest/amd64"
    }
    al2023 = {
      arm64 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
      amd64 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    }
  }
  ami_ssm_parameter = (var.ami_ssm_parameter != "" ? var.ami_ssm_parameter
  : local.ami_parameters[var.ami_os][var.ami_architecture])
  # Graviton for arm64, as before the architecture could be chosen.
  instance_type = (var.instance_type != "" ? var.instance_type
  : var.ami_architecture == "arm64" ? "t4g.nano" : "t3.nano")

  region = var.region != "" ? var.region : data.aws_region.current.name
  ami_id = var.ami_id != "" ? var.ami_id : data.aws_ssm_parameter.ami[0].insecure_value
  vpc_id = (var.vpc_id != "" ? var.vpc_id
    : var.subnet_id != "" ? data.aws_subnet.box[0].vpc_id
  : data.aws_vpc.default[0].id)
  subnet_id = var.subnet_id != "" ? var.subnet_id : sort(data.aws_subnets.default[0].ids)[0]

  tags = {
    Name                 = "jumpbox-${var.stack_id}"
    "jumpbox:stack"      = var.stack_id
    "jumpbox:requester"  = var.requester
    "jumpbox:expires-at" = var.expires_at
    "jumpbox:state"      = var.state_url
  }
}

module "userdata" {
  source = "../../userdata"

  stack_id               = var.stack_id
  public_key             = var.public_key
  box_role_id            = var.box_role_id
  expires_at             = var.expires_at
  ssh_user               = var.ssh_user
  ssh_port               = var.ssh_port
  permit_open            = var.permit_open
  clean_function_name    = var.clean_function_name
  region                 = local.region
  poweroff_grace_minutes = var.poweroff_grace_minutes
  deadline_poll_seconds  = var.deadline_poll_seconds
  max_ttl_seconds        = var.max_ttl_seconds
  state_url              = var.state_url
}

resource "aws_security_group" "box" {
  name        = "jumpbox-${var.stack_id}"
  description = "jumpbox ${var.stack_id}: SSH from one CIDR"
  vpc_id      = local.vpc_id
  tags        = local.tags
  # No inline rules: the provider removes AWS's default allow-all egress rule,
  # and the rule resources below are the whole policy.
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  security_group_id = aws_security_group.box.id
  description       = "SSH from the requester"
  ip_protocol       = "tcp"
  from_port         = var.ssh_port
  to_port           = var.ssh_port
  cidr_ipv4         = strcontains(var.allow_cidr, ":") ? null : var.allow_cidr
  cidr_ipv6         = strcontains(var.allow_cidr, ":") ? var.allow_cidr : null
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "tcp" {
  for_each          = toset(var.egress_cidrs)
  security_group_id = aws_security_group.box.id
  description       = "TCP to jump targets and the Lambda endpoint"
  ip_protocol       = "tcp"
  from_port         = 0
  to_port           = 65535
  cidr_ipv4         = strcontains(each.value, ":") ? null : each.value
  cidr_ipv6         = strcontains(each.value, ":") ? each.value : null
  tags              = local.tags
}

resource "aws_instance" "box" {
  ami                                  = local.ami_id
  instance_type                        = local.instance_type
  subnet_id                            = local.subnet_id
  vpc_security_group_ids               = [aws_security_group.box.id]
  associate_public_ip_address          = var.associate_public_ip
  iam_instance_profile                 = var.instance_profile_name != "" ? var.instance_profile_name : null
  instance_initiated_shutdown_behavior = "terminate"
  monitoring                           = false

  # Nothing secret in it (the box makes its host key and token itself).  The
  # provider keeps only a SHA-1 hash of user_data in plan and state.  A new
  # user data is a new box.
  user_data                   = module.userdata.cloud_config
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    encrypted             = true
    volume_type           = "gp3"
    delete_on_termination = true
  }

  credit_specification {
    cpu_credits = "standard"
  }

  tags        = local.tags
  volume_tags = local.tags

  lifecycle {
    precondition {
      condition     = length(module.userdata.cloud_config) <= 16384
      error_message = "The rendered user data exceeds EC2's 16 KiB limit."
    }
  }
}
