# The jumpbox control plane: state bucket, build and clean functions with the
# Terraform layer, roles, the sweep schedule.  Deployed once per account and
# region by an operator (README.md).

data "aws_partition" "current" {}

locals {
  p          = data.aws_partition.current.partition
  acct       = var.account_id
  region     = var.region
  bucket     = var.state_bucket_name != "" ? var.state_bucket_name : "${var.name_prefix}-state-${var.account_id}-${var.region}"
  dist       = "${path.module}/../../dist"
  build      = "${var.name_prefix}-build"
  clean      = "${var.name_prefix}-clean"
  box        = "${var.name_prefix}-box"
  zip_b      = var.build_zip != "" ? var.build_zip : "${local.dist}/build.zip"
  zip_c      = var.clean_zip != "" ? var.clean_zip : "${local.dist}/clean.zip"
  zip_l      = var.layer_zip != "" ? var.layer_zip : "${local.dist}/terraform-layer.zip"
  arn_fn     = "arn:${local.p}:lambda:${local.region}:${local.acct}:function"
  build_arn  = "${local.arn_fn}:${local.build}"
  clean_arn  = "${local.arn_fn}:${local.clean}"
  bucket_arn = "arn:${local.p}:s3:::${local.bucket}"
}

# ---- State bucket -----------------------------------------------------------

resource "aws_s3_bucket" "state" {
  bucket = local.bucket
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket     = aws_s3_bucket.state.id
  policy     = data.aws_iam_policy_document.state_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.state]
}

# ---- Functions --------------------------------------------------------------

resource "aws_lambda_layer_version" "terraform" {
  layer_name               = "${var.name_prefix}-terraform"
  description              = "terraform in bin/ and a provider plugin mirror in tf-plugins/"
  filename                 = local.zip_l
  source_code_hash         = filebase64sha256(local.zip_l)
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = [var.architecture]
}

locals {
  function_env = merge({
    JUMPBOX_MODULE        = "aws"
    JUMPBOX_STATE         = "s3://${local.bucket}/${var.state_prefix}"
    JUMPBOX_MAX_TTL       = var.max_ttl
    JUMPBOX_ALLOWED_CIDRS = join(",", var.allowed_cidrs)
    JUMPBOX_TF_PLUGIN_DIR = var.tf_plugin_dir
    JUMPBOX_TERRAFORM     = "/opt/bin/terraform"
    JUMPBOX_MODULE_DIR    = "/var/task/terraform"
    JUMPBOX_WORK_DIR      = "/tmp/jumpbox"
  }, var.module_vars_file != "" ? { JUMPBOX_MODULE_VARS = var.module_vars_file } : {})
  functions = {
    build = { name = local.build, zip = local.zip_b, role = aws_iam_role.build.arn }
    clean = { name = local.clean, zip = local.zip_c, role = aws_iam_role.clean.arn }
  }
}

resource "aws_cloudwatch_log_group" "fn" {
  for_each          = local.functions
  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "fn" {
  for_each         = local.functions
  function_name    = each.value.name
  description      = "jumpbox ${each.key}"
  role             = each.value.role
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = each.value.zip
  source_code_hash = filebase64sha256(each.value.zip)
  layers           = [aws_lambda_layer_version.terraform.arn]
  memory_size      = var.function_memory_mb
  timeout          = 900
  ephemeral_storage {
    size = var.function_ephemeral_mb
  }
  environment {
    variables = local.function_env
  }
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.fn[each.key].name
  }
}

# A teardown request from a box, or a sweep, must not run twice at once for
# the same stack; Lambda retries a failed asynchronous call twice by itself.
resource "aws_lambda_function_event_invoke_config" "clean" {
  function_name                = aws_lambda_function.fn["clean"].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

# ---- Sweep schedule ---------------------------------------------------------

resource "aws_scheduler_schedule" "sweep" {
  name                = "${var.name_prefix}-sweep"
  description         = "Destroy every expired jumpbox lease"
  schedule_expression = var.sweep_schedule
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_lambda_function.fn["clean"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ action = "sweep" })
    retry_policy {
      maximum_retry_attempts = 0
    }
  }
}
