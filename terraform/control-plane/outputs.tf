output "region" {
  value = var.region
}

output "state_bucket" {
  value = aws_s3_bucket.state.id
}

output "state_url" {
  description = "JUMPBOX_STATE of the functions."
  value       = "s3://${local.bucket}/${var.state_prefix}"
}

output "build_function_name" {
  value = aws_lambda_function.fn["build"].function_name
}

output "clean_function_name" {
  value = aws_lambda_function.fn["clean"].function_name
}

output "box_instance_profile" {
  value = aws_iam_instance_profile.box.name
}

output "backup_vm_policy_arn" {
  description = "Attach to the backup VM's identity (or set backup_vm_role_name)."
  value       = aws_iam_policy.backup_vm.arn
}

output "module_vars" {
  description = "Variables for terraform/aws that differ from its defaults (the JUMPBOX_MODULE_VARS file)."
  value = {
    region                = var.region
    clean_function_name   = local.clean
    instance_profile_name = local.box
  }
}
